"""Email through a real SMTP server on loopback (aiosmtpd): plain, STARTTLS and TLS."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from scopeguard.adapters.delivery.channels import deliver
from scopeguard.adapters.delivery.email import send_email
from scopeguard.adapters.delivery.errors import DeliveryError
from scopeguard.config import AlertChannelSettings, Settings, SmtpSettings
from scopeguard.presentation.alert_messages import build_alert
from tests.support.receiver import TlsFiles, make_tls_files
from tests.support.settings import settings_for


@dataclass
class Mailbox:
    """What the SMTP server accepted."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"sg", b"pw")
    # handled=False: aiosmtpd then answers 535 itself.
    return AuthResult(success=ok, handled=False)


def _serve(**options: Any) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Mailbox, int]]:
    yield from _serve()


@pytest.fixture
def starttls_smtp(tls_files: TlsFiles) -> Iterator[tuple[Mailbox, int]]:
    yield from _serve(
        tls_context=tls_files.server_context(),
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    )


@pytest.fixture
def tls_smtp(tls_files: TlsFiles) -> Iterator[tuple[Mailbox, int]]:
    yield from _serve(
        ssl_context=tls_files.server_context(),
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,  # the whole connection is TLS; aiosmtpd cannot tell
    )


def _smtp(port: int, **extra: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "ScopeGuard <alerts@agency.example>",
        "timeout": 5,
        **extra,
    }
    return SmtpSettings(**values)


def test_send_email_with_text_html_and_attachment(plain_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = plain_smtp
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
    send_email(
        _smtp(port),
        ["pm@agency.example", "lead@agency.example"],
        "Отчёт за ноябрь",
        "Текст письма",
        "<p>Текст <b>письма</b></p>",
        [("report-2026-11.pdf", pdf, "application/pdf")],
    )
    ((sender, recipients, message),) = mailbox.messages
    assert sender == "alerts@agency.example"
    assert recipients == ["pm@agency.example", "lead@agency.example"]
    assert message["Subject"] == "Отчёт за ноябрь"
    assert message["Message-ID"].endswith("@agency.example>")
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and body.get_content().strip() == "Текст письма"
    assert html is not None and "<b>письма</b>" in html.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report-2026-11.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf


def test_starttls_with_login(starttls_smtp: tuple[Mailbox, int], tls_files: TlsFiles) -> None:
    mailbox, port = starttls_smtp
    smtp = _smtp(port, security="starttls", username="sg", password="pw", ca_file=tls_files.ca)
    send_email(smtp, ["pm@agency.example"], "Hello", "over STARTTLS")
    assert mailbox.messages[0][2].get_content().strip() == "over STARTTLS"
    with pytest.raises(DeliveryError) as caught:
        send_email(smtp.model_copy(update={"password": "wrong"}), ["pm@x.example"], "s", "t")
    assert caught.value.permanent and "535" in str(caught.value)
    # Without trusting the test CA the certificate is refused (never sent in plain text).
    with pytest.raises(DeliveryError, match=r"(?i)certificate"):
        send_email(smtp.model_copy(update={"ca_file": None}), ["pm@x.example"], "s", "t")
    assert len(mailbox.messages) == 1


def test_starttls_required_but_not_offered(plain_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = plain_smtp
    with pytest.raises(DeliveryError, match=r"(?i)starttls") as caught:
        send_email(_smtp(port, security="starttls"), ["pm@agency.example"], "s", "t")
    assert caught.value.permanent
    assert mailbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(tls_smtp: tuple[Mailbox, int], tls_files: TlsFiles) -> None:
    mailbox, port = tls_smtp
    smtp = _smtp(port, security="tls", username="sg", password="pw", ca_file=tls_files.ca)
    send_email(smtp, ["pm@agency.example"], "Hello", "over TLS")
    assert mailbox.messages[0][2].get_content().strip() == "over TLS"


def test_smtp_answers_classified(plain_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = plain_smtp
    with pytest.raises(DeliveryError) as rejected:
        send_email(_smtp(port), ["nobody@agency.example"], "s", "t")
    assert rejected.value.permanent and "550" in str(rejected.value)
    with pytest.raises(DeliveryError) as busy:
        send_email(_smtp(port), ["busy@agency.example"], "s", "t")
    assert not busy.value.permanent and "451" in str(busy.value)
    with pytest.raises(DeliveryError) as partial:
        send_email(_smtp(port), ["pm@agency.example", "nobody@agency.example"], "s", "t")
    assert partial.value.permanent and "nobody@agency.example" in str(partial.value)
    assert [m[1] for m in mailbox.messages] == [["pm@agency.example"]]


def test_unreachable_server_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        send_email(_smtp(_free_port()), ["pm@agency.example"], "s", "t")
    assert not caught.value.permanent


def _settings(tmp_path: Path, port: int, language: str) -> Settings:
    contract = {
        "start": "2026-01-01",
        "scope": {"issues": 10},
        "revisions_per_issue": 2,
        "report": {"language": language},
    }
    return settings_for(
        "http://127.0.0.1:9",
        [
            {
                "key": "ACME",
                "name": "ACME <Corp>",
                "jql": "project = ACME",
                "contract": contract,
                "alerts": [{"type": "email", "to": ["pm@agency.example"]}],
            }
        ],
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        instance=tmp_path,
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "sender": "sg@agency.example"},
    )


@pytest.mark.parametrize("language", ["en", "ru"])
def test_alert_email_arrives_with_both_parts(
    plain_smtp: tuple[Mailbox, int], tmp_path: Path, language: str
) -> None:
    mailbox, port = plain_smtp
    settings = _settings(tmp_path, port, language)
    client = settings.clients[0]
    alert = build_alert(
        settings,
        client,
        alert_id="0b6f7c52-1111-4c1e-9d59-3b8a4f1f0a01",
        event="revision_limit_exceeded",
        issue="ACME-7",
        value=3,
        limit=2,
        occurred_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    )
    deliver(settings, client.alerts[0], alert)
    ((_, recipients, message),) = mailbox.messages
    assert recipients == ["pm@agency.example"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    assert "ACME-7" in message["Subject"] and "ACME <Corp>" in message["Subject"]
    assert "http://127.0.0.1:8000/clients/ACME/issues/ACME-7" in plain
    assert 'href="http://127.0.0.1:8000/clients/ACME/issues/ACME-7"' in markup
    assert "ACME &lt;Corp&gt;" in markup and "ACME <Corp>" not in markup
    if language == "ru":
        assert "Превышен лимит правок: ACME-7" in message["Subject"]
        assert "3 раунда правок" in plain and "3 раунда правок" in markup
    else:
        assert "Revision limit exceeded: ACME-7" in message["Subject"]
        assert "3 revision rounds" in plain


def test_email_channel_without_smtp_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="smtp"):
        settings_for(
            "http://127.0.0.1:9",
            [
                {
                    "key": "ACME",
                    "name": "ACME",
                    "jql": "project = ACME",
                    "contract": {
                        "start": "2026-01-01",
                        "scope": {"issues": 1},
                        "revisions_per_issue": 1,
                    },
                    "alerts": [{"type": "email", "to": ["pm@agency.example"]}],
                }
            ],
            database_url="sqlite://",
            instance=tmp_path,
        )
    assert AlertChannelSettings(type="email", to=("a@b.example",)).type == "email"
