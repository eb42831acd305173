"""The import checker of the architecture tests finds what it must (on made-up modules)."""

from __future__ import annotations

from tests.support.imports import violations


def test_the_checker_finds_indirect_relative_and_hidden_imports() -> None:
    fake = {
        "scopeguard": ("", True),
        "scopeguard.domain": ("", True),
        "scopeguard.domain.clean": ("from .helper import thing\n", False),
        "scopeguard.domain.helper": ("from ..util import tool\nthing = 1\n", False),
        "scopeguard.util": (
            "def tool():\n    import requests.adapters\n    return requests.adapters\n",
            False,
        ),
        "scopeguard.domain.typed": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n",
            False,
        ),
        "scopeguard.domain.sneaky": ("mod = __import__('jira')\n", False),
        "scopeguard.domain.sneakier": (
            "import importlib\nmod = importlib.import_module('flask')\n",
            False,
        ),
    }
    found = violations(
        [
            "scopeguard.domain.clean",
            "scopeguard.domain.typed",
            "scopeguard.domain.sneaky",
            "scopeguard.domain.sneakier",
        ],
        fake.get,
    )
    chain = ["scopeguard.domain.clean", "scopeguard.domain.helper", "scopeguard.util"]
    assert found == [
        " -> ".join([*chain, "requests.adapters"]),
        "scopeguard.domain.sneakier: calls import_module()",
        "scopeguard.domain.sneaky: calls __import__()",
        "scopeguard.domain.typed -> sqlalchemy.orm",
        "scopeguard.domain.typed -> sqlalchemy.orm.Session",
    ]
