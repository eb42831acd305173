"""The domain package stays pure: no web, database, HTTP, Jira client or plotting imports.

Every module under ``src/scopeguard/domain`` is parsed (not imported) and its
imports are followed through the rest of ``scopeguard`` (including the
``__init__`` of every package on the way, which importing a module runs), so
an indirect dependency (domain → some helper → requests) fails too. Imports
inside functions and ``TYPE_CHECKING`` blocks count: they are still edges.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
DOMAIN = SRC / "scopeguard" / "domain"

FORBIDDEN = frozenset(
    {"flask", "sqlalchemy", "requests", "jira", "matplotlib", "werkzeug", "urllib3", "psycopg"}
)
# The standard library's own network, database and process modules: the domain
# computes from values it is given and never fetches anything.
FORBIDDEN_STDLIB = frozenset(
    {"socket", "ssl", "http", "urllib", "ftplib", "smtplib", "sqlite3", "subprocess"}
)

Loader = Callable[[str], tuple[str, bool] | None]
"""Module name → (source, is package), or None when it is not part of the project."""


def load_from_src(name: str) -> tuple[str, bool] | None:
    base = SRC.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return (base / "__init__.py").read_text(encoding="utf-8"), True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py").read_text(encoding="utf-8"), False
    return None


def imported_names(source: str, module: str, is_package: bool) -> tuple[set[str], list[str]]:
    """Absolute names a module imports (``from a import b`` gives ``a`` and ``a.b``),
    and any dynamic-import calls it makes."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    dynamic: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                target = f"{anchor}.{node.module}" if node.module else anchor
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):
            # A name the AST cannot follow: importlib.import_module("requests").
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in ("__import__", "import_module", "exec", "eval"):
                dynamic.append(f"{module}: calls {called}()")
    return names, dynamic


def violations(roots: list[str], load: Loader) -> list[str]:
    """Each forbidden import reachable from ``roots``, with the chain that reaches it."""
    found: list[str] = []
    chains: dict[str, list[str]] = {root: [root] for root in roots}
    queue = list(roots)
    while queue:
        module = queue.pop()
        loaded = load(module)
        if loaded is None:
            continue
        source, is_package = loaded
        names, dynamic = imported_names(source, module, is_package)
        found.extend(dynamic)
        for name in sorted(names):
            top = name.split(".")[0]
            if top in FORBIDDEN or top in FORBIDDEN_STDLIB:
                found.append(" -> ".join([*chains[module], name]))
                continue
            if top != "scopeguard":
                continue
            # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c.
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                candidate = ".".join(parts[:depth])
                if candidate not in chains and load(candidate) is not None:
                    chains[candidate] = [*chains[module], candidate]
                    queue.append(candidate)
    return sorted(set(found))


def domain_modules() -> list[str]:
    modules = []
    for path in sorted(DOMAIN.rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


def test_domain_imports_nothing_that_does_io() -> None:
    modules = domain_modules()
    assert "scopeguard.domain.metrics" in modules
    assert violations(modules, load_from_src) == []


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
