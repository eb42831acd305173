"""Accounts for the tests, and signing a test client in as one of them."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from scopeguard.bootstrap import Services

PASSWORD = "correct horse battery staple"
PEOPLE = {
    "vera": ("viewer", ()),
    "ada": ("admin", ()),
    "pat": ("pm", ("HLT",)),
}
"""username → (role, a pm's clients); every one with :data:`PASSWORD`."""


def add_people(services: Services) -> None:
    """A viewer, an admin and a pm (of HLT), unless they exist already."""
    existing = {user.username for user in services.people.users()}
    for username, (role, clients) in PEOPLE.items():
        if username not in existing:
            services.people.add(username, role, password=PASSWORD, clients=clients)  # type: ignore[arg-type]


def form_token(html: str) -> str:
    """The ``csrf_token`` of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def sign_in(
    client: FlaskClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> Any:
    """Fill in and post the sign-in form as a browser would."""
    form = client.get("/signin", query_string={"next": next_path})
    return client.post(
        "/signin",
        data={
            "username": username,
            "password": password,
            "csrf_token": form_token(form.get_data(as_text=True)),
            "next": next_path,
        },
    )
