"""Reading the project's import graph from its source (parsed, never imported).

Every import counts as an edge, including imports inside functions and
``TYPE_CHECKING`` blocks, and importing ``a.b.c`` also runs ``a/__init__`` and
``a/b/__init__``. Dynamic imports (``importlib.import_module``, ``__import__``,
``exec``) are reported, since no static check can follow them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from tests.support.paths import REPO_ROOT

SRC = REPO_ROOT / "src"

FORBIDDEN = frozenset(
    {
        "flask",
        "sqlalchemy",
        "requests",
        "jira",
        "matplotlib",
        "werkzeug",
        "urllib3",
        "psycopg",
        # They read dictionaries and documents from files: adapters hand the domain their results.
        "pymorphy3",
        "snowballstemmer",
        "docx",
        "pypdf",
    }
)
"""Libraries that do I/O or drawing: never in the domain."""
FORBIDDEN_STDLIB = frozenset(
    {"socket", "ssl", "http", "urllib", "ftplib", "smtplib", "sqlite3", "subprocess"}
)
"""The standard library's own network, database and process modules."""


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


def violations(
    roots: list[str], load: Loader, forbidden: frozenset[str] = FORBIDDEN | FORBIDDEN_STDLIB
) -> list[str]:
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
            if top in forbidden:
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


def modules_under(package: str) -> list[str]:
    """Every module of a package of ``src/`` by dotted name, the package itself included."""
    folder = SRC.joinpath(*package.split("."))
    modules = []
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


def direct_imports(module: str) -> Iterator[str]:
    """The absolute names ``module`` imports itself (not what those import)."""
    loaded = load_from_src(module)
    if loaded is None:
        return
    source, is_package = loaded
    names, _dynamic = imported_names(source, module, is_package)
    yield from sorted(names)
