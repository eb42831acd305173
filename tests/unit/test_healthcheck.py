"""The image's HEALTHCHECK asks /healthz of web containers only, where they listen."""

from __future__ import annotations

import pytest

from scopeguard.entrypoints.healthcheck import served_address

IMAGE = ["/usr/bin/tini", "--", "scopeguard"]


@pytest.mark.parametrize(
    ("argv", "env", "address"),
    [
        ([*IMAGE, "serve"], {}, ("127.0.0.1", 8000)),
        # The image sets SCOPEGUARD_HOST=0.0.0.0: every interface, so loopback too.
        ([*IMAGE, "serve"], {"SCOPEGUARD_HOST": "0.0.0.0"}, ("127.0.0.1", 8000)),
        ([*IMAGE, "serve", "--port", "9000"], {"SCOPEGUARD_PORT": "7000"}, ("127.0.0.1", 9000)),
        ([*IMAGE, "serve"], {"SCOPEGUARD_PORT": "7000"}, ("127.0.0.1", 7000)),
        ([*IMAGE, "--config", "/etc/x.yaml", "serve", "--host=::"], {}, ("::1", 8000)),
        ([*IMAGE, "serve", "--dev", "--host", "10.1.2.3"], {}, ("10.1.2.3", 8000)),
        (
            ["/opt/venv/bin/python", "-m", "scopeguard", "serve", "--port=8123"],
            {},
            ("127.0.0.1", 8123),
        ),
        # The image sets SCOPEGUARD_HEALTH_PORT=8001: the arbiter answers there, never
        # behind busy workers; the command line's option wins, as in click.
        ([*IMAGE, "serve"], {"SCOPEGUARD_HEALTH_PORT": "8001"}, ("127.0.0.1", 8001)),
        (
            [*IMAGE, "serve", "--port", "9000", "--health-port", "9001"],
            {"SCOPEGUARD_HEALTH_PORT": "8001"},
            ("127.0.0.1", 9001),
        ),
        ([*IMAGE, "serve", "--dev", "--health-port=9002"], {}, ("127.0.0.1", 9002)),
    ],
)
def test_a_web_container_is_probed_where_serve_listens(
    argv: list[str], env: dict[str, str], address: tuple[str, int]
) -> None:
    assert served_address(argv, env) == address


@pytest.mark.parametrize(
    "argv",
    [
        [*IMAGE, "worker"],
        [*IMAGE, "db", "upgrade"],
        [*IMAGE, "--config", "serve", "worker"],  # "serve" here is the config file's name
        [*IMAGE, "serve", "--help"],
        [*IMAGE],
        ["/bin/sh", "-c", "sleep 1"],
    ],
)
def test_any_other_container_has_nothing_to_ask(argv: list[str]) -> None:
    assert served_address(argv, {"SCOPEGUARD_PORT": "8000"}) is None
