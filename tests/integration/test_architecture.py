"""The architecture, checked on the source: a pure domain, layers whose arrows point down,
and a simulator that stays out of the product.

The layers, from the bottom (``docs/architecture.md`` draws them)::

    domain  <  config  <  presentation  <  adapters  <  usecases  <  bootstrap  <  entrypoints

A module may import its own layer and the ones below it, never one above.
Adapters do not reach into each other, with the exceptions named below, and
use cases say what happens without Flask, HTTP or SQL of their own.
"""

from __future__ import annotations

import pytest

from tests.support.imports import (
    direct_imports,
    load_from_src,
    modules_under,
    violations,
)

LAYERS = (
    "scopeguard.domain",
    "scopeguard.config",
    "scopeguard.presentation",
    "scopeguard.adapters",
    "scopeguard.usecases",
    "scopeguard.bootstrap",
    "scopeguard.entrypoints",
)
ADAPTER_EDGES = frozenset(
    {
        # The PDF report embeds the same charts as the panel.
        ("scopeguard.adapters.pdf", "scopeguard.adapters.charts"),
    }
)
SHARED_ADAPTERS = frozenset({"scopeguard.adapters.retry_after"})
"""Helpers every adapter that speaks HTTP may use."""


def layer_of(module: str) -> int | None:
    for index, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return index
    return None


def adapter_of(module: str) -> str | None:
    """``scopeguard.adapters.jira`` for ``scopeguard.adapters.jira.cloud`` (``None`` outside)."""
    parts = module.split(".")
    if parts[:2] != ["scopeguard", "adapters"] or len(parts) < 3:
        return None
    return ".".join(parts[:3])


def project_modules(name: str) -> list[str]:
    """The modules a dotted import name refers to within the project (itself or its parent)."""
    while name and load_from_src(name) is None:
        name = name.rpartition(".")[0]
    return [name] if name else []


def arrows() -> list[tuple[str, str]]:
    found = []
    for module in modules_under("scopeguard"):
        for name in direct_imports(module):
            for target in project_modules(name):
                if target != module and target.startswith("scopeguard"):
                    found.append((module, target))
    return sorted(set(found))


def test_the_domain_imports_nothing_that_does_io() -> None:
    modules = modules_under("scopeguard.domain")
    assert "scopeguard.domain.metrics" in modules
    assert violations(modules, load_from_src) == []


def test_every_module_is_in_a_layer() -> None:
    stray = [
        m
        for m in modules_under("scopeguard")
        if layer_of(m) is None and m not in ("scopeguard", "scopeguard.__main__")
    ]
    assert stray == []


def test_every_arrow_points_down() -> None:
    upward = []
    for source, target in arrows():
        below, above = layer_of(target), layer_of(source)
        if below is None or above is None:
            continue
        if below > above:
            upward.append(f"{source} -> {target}")
    assert upward == []


def test_adapters_do_not_reach_into_each_other() -> None:
    crossing = []
    for source, target in arrows():
        mine, theirs = adapter_of(source), adapter_of(target)
        if mine is None or theirs is None or mine == theirs:
            continue
        if theirs in SHARED_ADAPTERS or (mine, theirs) in ADAPTER_EDGES:
            continue
        crossing.append(f"{source} -> {target}")
    assert crossing == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("scopeguard.usecases", {"flask", "werkzeug", "requests", "urllib3", "sqlalchemy", "http"}),
        (
            "scopeguard.presentation",
            {"flask", "sqlalchemy", "requests", "matplotlib", "weasyprint"},
        ),
    ],
)
def test_layers_keep_to_their_job(package: str, forbidden: set[str]) -> None:
    found = [
        f"{module} -> {name}"
        for module in modules_under(package)
        for name in direct_imports(module)
        if name.split(".")[0] in forbidden
    ]
    assert found == []


def test_the_product_never_imports_the_simulator_or_the_demo() -> None:
    found = [
        f"{module} -> {name}"
        for module in modules_under("scopeguard")
        for name in direct_imports(module)
        if name.split(".")[0] in ("jira_simulator", "scopeguard_demo")
    ]
    assert found == []


def test_the_simulator_stands_alone() -> None:
    # A fake Jira that used ScopeGuard's own parsing could mirror its mistakes.
    found = [
        f"{module} -> {name}"
        for module in modules_under("jira_simulator")
        for name in direct_imports(module)
        if name.split(".")[0] in ("scopeguard", "scopeguard_demo")
    ]
    assert found == []
