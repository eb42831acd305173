"""``make demo`` without serving: it syncs the sample agency, assesses the risk and
delivers the alerts to its own inbox page, so the panel's delivery log is not empty."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from werkzeug.test import Client

from scopeguard_demo.inbox import Inbox


def test_the_demo_delivers_its_alerts_to_the_inbox(tmp_path: Path) -> None:
    instance = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "scopeguard_demo", "--no-serve", "--instance", str(instance)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Alert inbox (the demo's webhook channel): http://127.0.0.1:" in done.stdout
    assert "failed 0" in done.stdout and "delivered 0," not in done.stdout
    with sqlite3.connect(instance / "scopeguard.db") as db:
        rows = db.execute(
            "select event, client_key, status from alert_outbox where event = 'client_risk_high'"
        ).fetchall()
    assert rows == [("client_risk_high", "TOX", "delivered")]


def test_the_inbox_lists_what_it_received_as_text() -> None:
    inbox = Inbox()
    web = Client(inbox)
    hostile = {"event": "client_risk_high", "client": "TOX", "text": "<script>x()</script>"}
    assert web.post("/hook", json=hostile).status_code == 204
    assert web.post("/hook", data="not json").status_code == 400
    page = web.get("/").get_data(as_text=True)
    assert "client_risk_high" in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<script>x()" not in page
    assert web.get("/elsewhere").status_code == 404
