"""Sending mail through the configured SMTP server (``smtp:``), for alerts and reports."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from scopeguard.adapters.delivery.errors import DeliveryError
from scopeguard.config import SmtpSettings


def build_message(
    smtp: SmtpSettings,
    to: Sequence[str],
    subject: str,
    text: str,
    *,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> EmailMessage:
    """The MIME message: text (and HTML as an alternative), then the attachments."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(to)
    _set_subject(message, subject)
    message["Date"] = formatdate(localtime=False)
    domain = smtp.sender.rpartition("@")[2].strip("> ") or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, data, mimetype in attachments:
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    return message


def _set_subject(message: EmailMessage, subject: str) -> None:
    """The Subject header, RFC 2047-encoded by us when it is not plain ASCII.

    CPython 3.11's header folding (``email.policy.default``) drops the space at
    the fold between two encoded words ("объёму работ" arrives as
    "объёмуработ"): whitespace between encoded words is not text (RFC 2047
    §6.2), and that is where 3.11 puts the space. :class:`email.header.Header`
    keeps every space inside an encoded word and writes lines short enough
    (76 columns) that the policy does not fold them again, so the raw value is
    stored as written. An ASCII subject needs no encoded words and is folded
    by the policy at its spaces, which is lossless.
    """
    if subject.isascii():
        message["Subject"] = subject
        return
    if "\r" in subject or "\n" in subject:
        raise ValueError("a subject must be one line")  # as the policy says of ASCII ones
    message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``smtp.ca_file`` when set; hostnames are checked."""
    context = ssl.create_default_context()
    if smtp.ca_file is not None:
        context.load_verify_locations(cafile=str(smtp.ca_file))
    return context


def send_email(  # noqa: PLR0917 - the signature reports and alerts call
    smtp: SmtpSettings,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> None:
    """Send one message to ``to`` (plain text, optional HTML part, attachments).

    ``attachments`` are ``(filename, bytes, mimetype)``. Raises
    :class:`DeliveryError`: permanent for SMTP 5xx answers (a rejected
    recipient, failed authentication) and a server without STARTTLS when it is
    required; retryable for 4xx answers, timeouts and network errors. A message
    the server accepted for some recipients but refused for others raises a
    permanent error naming them (sending again would duplicate it for the rest).
    """
    if not to:
        raise DeliveryError("no recipients", permanent=True)
    message = build_message(smtp, to, subject, text, html=html, attachments=attachments)
    context = tls_context(smtp)
    port = smtp.effective_port
    try:
        server: smtplib.SMTP
        if smtp.security == "tls":
            server = smtplib.SMTP_SSL(smtp.host, port, timeout=smtp.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, port, timeout=smtp.timeout)
        with server:
            server.ehlo()
            if smtp.security == "starttls":
                # Never fall back to plain text: a server without STARTTLS is an error.
                server.starttls(context=context)
                server.ehlo()
            if smtp.username:
                server.login(smtp.username, smtp.password or "")
            refused = server.send_message(message, from_addr=smtp.sender, to_addrs=list(to))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        permanent = all(code >= 500 for code in codes)
        raise DeliveryError(
            f"recipients refused: {_refusals(exc.recipients)}", permanent=permanent
        ) from exc
    except smtplib.SMTPResponseException as exc:
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryError(
            f"SMTP {exc.smtp_code}: {detail}", permanent=exc.smtp_code >= 500
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"SMTP server: {exc}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {smtp.host}:{port}: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise DeliveryError(f"sent, but refused for {_refusals(refused)}", permanent=True)


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode('utf-8', 'replace')})"
        for address, (code, reply) in recipients.items()
    )
