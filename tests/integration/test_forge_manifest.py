"""The Forge manifest, checked with Atlassian's own validator (npm @forge/manifest).

``scripts/validate-manifest.mjs`` calls ``validate()`` from @forge/manifest, the
validator behind ``forge lint``, offline. The manifest is validated beside a
fresh build of the Custom UI in a temporary folder, so a stale or missing
build in the work tree cannot make it pass, and concurrent runs do not share
files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scopeguard.config import parse_settings
from scopeguard.entrypoints.web import create_app
from tests.support.forge import FORGE_APP_DIR, build_forge_ui, node_tools

MANIFEST = FORGE_APP_DIR / "manifest.yml"
VALIDATOR = FORGE_APP_DIR / "scripts" / "validate-manifest.mjs"
UI_SOURCE = FORGE_APP_DIR / "static" / "scopeguard" / "src"

Validate = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def built_ui(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_forge_ui(tmp_path_factory.mktemp("forge-ui") / "build")


@pytest.fixture
def app_copy(tmp_path: Path, built_ui: Path) -> Path:
    """A folder laid out like plugin_manifest/forge: our manifest beside a fresh UI build."""
    shutil.copy(MANIFEST, tmp_path / "manifest.yml")
    shutil.copytree(built_ui, tmp_path / "static" / "scopeguard" / "build")
    return tmp_path


def deploy_env(**overrides: str | None) -> dict[str, str]:
    """The environment `forge deploy` would see: app id and ScopeGuard's URL exported."""
    env = {
        **os.environ,
        "SCOPEGUARD_FORGE_APP_ID": str(uuid.uuid4()),
        "SCOPEGUARD_URL": "https://scopeguard.agency.example",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture(scope="module")
def validate() -> Validate:
    node, _npm = node_tools()

    def run(
        *manifests: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [node, str(VALIDATOR), *map(str, manifests)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env if env is not None else deploy_env(),
            check=False,
        )

    return run


def verdicts(output: str) -> dict[str, str]:
    """Each manifest's findings and verdict, from the script's output, by manifest path."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        match = re.match(r"(?:manifest (?:valid|INVALID): )?(/[^:]+?/manifest\.yml)", line)
        if match:
            found.setdefault(match.group(1), []).append(line)
    return {path: "\n".join(lines) for path, lines in found.items()}


def test_our_manifest_passes_atlassians_validator(validate: Validate, app_copy: Path) -> None:
    result = validate(app_copy / "manifest.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "manifest valid" in result.stdout


def test_deploying_without_scopeguards_url_fails(validate: Validate, app_copy: Path) -> None:
    # No default: a deploy that does not say where ScopeGuard runs must not guess.
    result = validate(app_copy / "manifest.yml", env=deploy_env(SCOPEGUARD_URL=None))
    assert result.returncode == 1, result.stdout
    assert "SCOPEGUARD_URL" in result.stdout


BROKEN = {
    "resolver names an endpoint that does not exist": (
        "        endpoint: scopeguard-endpoint\n",
        "        endpoint: nowhere\n",
        "undefined endpoint module with key 'nowhere'",
    ),
    "issue panel without its required icon": (
        "      icon: resource:scopeguard-ui;icon.svg\n",
        "",
        "required properties",
    ),
    "endpoint points at an undeclared remote": (
        "      remote: scopeguard\n",
        "      remote: elsewhere\n",
        "'elsewhere' was not found",
    ),
    "a runtime Forge no longer offers": (
        "    name: nodejs22.x\n",
        "    name: nodejs12.x\n",
        "allowed values are",
    ),
    "a misspelt module type": ("  jira:issuePanel:\n", "  jira:issuePanels:\n", "jira:issuePanels"),
    "an operation remotes cannot declare": ("      - compute\n", "      - teleport\n", "teleport"),
    "an app id that is not an ARI": (
        "  id: ari:cloud:ecosystem::app/${SCOPEGUARD_FORGE_APP_ID}\n",
        "  id: my-app\n",
        "app",
    ),
    "a resource folder that was never built": (
        "    path: static/scopeguard/build\n",
        "    path: static/missing\n",
        "static/missing",
    ),
    "unparseable YAML": ("modules:\n", "modules: [unclosed\n", "failed to parse"),
    # @forge/manifest skips resource folders that are missing entirely (the CLI
    # fails later, at deploy); the script checks the built entry point now.
    "a UI built without its index.html": ("", "", "index.html is missing"),
}


@pytest.fixture(scope="module")
def broken_results(
    validate: Validate, built_ui: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict[str, Path]]:
    """Every broken copy validated in one run (the validator takes seconds to start)."""
    text = MANIFEST.read_text()
    manifests: dict[str, Path] = {}
    for index, (case, (old, new, _expected)) in enumerate(sorted(BROKEN.items())):
        folder = tmp_path_factory.mktemp(f"broken-{index}")
        shutil.copytree(built_ui, folder / "static" / "scopeguard" / "build")
        if case == "a UI built without its index.html":
            (folder / "static" / "scopeguard" / "build" / "index.html").unlink()
        assert old in text, f"test edit target {old!r} not in the manifest"
        (folder / "manifest.yml").write_text(text.replace(old, new, 1))
        manifests[case] = folder / "manifest.yml"
    return validate(*manifests.values()), manifests


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_manifest_fails(
    broken_results: tuple[subprocess.CompletedProcess[str], dict[str, Path]], case: str
) -> None:
    result, manifests = broken_results
    assert result.returncode == 1
    verdict = verdicts(result.stdout)[str(manifests[case])]
    assert f"manifest INVALID: {manifests[case]}" in verdict, verdict
    assert ": error: " in verdict
    assert BROKEN[case][2] in verdict, verdict


def _manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_the_manifest_declares_both_panels_on_one_remote_and_no_scopes() -> None:
    manifest = _manifest()
    modules = manifest["modules"]
    endpoints = {endpoint["key"]: endpoint for endpoint in modules["endpoint"]}
    for module_type in ("jira:projectPage", "jira:issuePanel"):
        (module,) = modules[module_type]
        assert module["resource"] == "scopeguard-ui"
        endpoint = endpoints[module["resolver"]["endpoint"]]
        assert endpoint["remote"] == "scopeguard"
        # No OAuth tokens are requested, so no scopes are needed or declared.
        assert "auth" not in endpoint
    # Plain names, no defaults: forge commands fail unless both are exported.
    assert manifest["environment"]["variables"] == ["SCOPEGUARD_FORGE_APP_ID", "SCOPEGUARD_URL"]
    (remote,) = manifest["remotes"]
    assert remote["baseUrl"] == "${SCOPEGUARD_URL}"
    assert remote["operations"] == ["compute"]
    assert not manifest.get("permissions", {}).get("scopes")


def test_the_ui_calls_only_endpoints_the_service_serves(tmp_path: Path) -> None:
    called = set(re.findall(r"'(/forge/v1/[a-z-]+)'", (UI_SOURCE / "main.js").read_text()))
    assert called == {"/forge/v1/project-summary", "/forge/v1/issue-trail"}
    settings = parse_settings(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
                "database_auto_migrate": True,  # a fresh database
                "jira": {"url": "https://agency.atlassian.net", "email": "a@b.c", "api_token": "t"},
            }
        ),
        env={},
    )
    app = create_app(settings)
    served = {
        rule.rule: rule.methods or set()
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/forge/")
    }
    for path in called:
        assert {"GET", "POST"} <= served[path]


def test_the_ui_never_parses_data_as_html() -> None:
    # Issue summaries and names are written by clients: the UI must only ever set text.
    for source in sorted(UI_SOURCE.glob("*.js")):
        text = source.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{source.name} uses {sink}"
