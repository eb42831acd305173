"""The Helm chart, linted, rendered and validated offline (there is no cluster here).

Helm's own library (``helm_python``, Helm 4 as a shared object) lints the chart and
renders it with the default values and with ``values-production.yaml``, checking
values.schema.json as ``helm install`` does. Every rendered manifest is validated
against the Kubernetes API schemas (``kubernetes_validate``, strict: unknown fields
fail). The tests then assert what a deployment depends on: one migration Job per
release, probes on the right paths and ports, a web Deployment that never runs the
worker, no secret in a ConfigMap, the SQLite guard, and a configuration that
ScopeGuard itself accepts with the secrets as the pods would read them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from scopeguard.config import parse_settings
from tests.support.paths import REPO_ROOT

CHART = REPO_ROOT / "charts" / "scopeguard"
DEFAULTS: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
PRODUCTION: dict[str, Any] = yaml.safe_load((CHART / "values-production.yaml").read_text())
RELEASE = "scopeguard"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest the
# installed kubernetes-validate knows.
KUBERNETES = ("1.25", kubernetes_validate.utils.latest_version())
HOOK = "helm.sh/hook"
SECRET_KEYS = ("api_token", "pat", "webhook_secret", "secret_key", "password", "secret")
VARIABLE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object the chart renders for ``values``, hooks included (NOTES.txt left out)."""
    manifests = chart.render(values, name=RELEASE, namespace="scopeguard", is_install=True)
    objects = []
    for path, text in manifests.items():
        if path.endswith(".yaml"):
            objects.extend(o for o in yaml.safe_load_all(text) if o)
    return objects


def merged(*overrides: dict[str, Any]) -> dict[str, Any]:
    """The production values with ``overrides`` merged in (dicts deeply, the rest replaced)."""
    result = copy.deepcopy(PRODUCTION)
    for override in overrides:
        _merge(result, override)
    return result


def _merge(into: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    """The object ``kind`` named after the release with ``suffix`` (``-web``, ``-config``)."""
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == RELEASE + suffix]
    return found


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(only)


def env_of(workload: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(workload).get("env", [])}


def hooks(obj: dict[str, Any]) -> set[str]:
    annotations = obj["metadata"].get("annotations") or {}
    return set(filter(None, annotations.get(HOOK, "").split(",")))


def test_the_chart_lints_clean_with_both_value_files() -> None:
    for values in (None, PRODUCTION):
        report = helm.lint(CHART, values, strict=True)
        problems = [m for m in report["messages"] if m["severity"] >= 2]  # warnings, errors
        assert not report["errors"] and not problems, report


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
@pytest.mark.parametrize("kubernetes", KUBERNETES)
def test_every_manifest_is_valid_kubernetes(
    chart: helm.Chart, values: dict[str, Any], kubernetes: str
) -> None:
    objects = render(chart, values)
    assert {o["kind"] for o in objects} >= {"ConfigMap", "Deployment", "Job", "Service"}
    for obj in objects:
        kubernetes_validate.validate(obj, kubernetes, strict=True)


def test_a_broken_manifest_fails_validation(chart: helm.Chart) -> None:
    # The check above would catch what it claims to: a probe on a misspelt field fails.
    web = named(render(chart, PRODUCTION), "Deployment", "-web")
    web["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES[-1], strict=True)


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
def test_one_migration_job_per_release_and_no_other_migrator(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    objects = render(chart, values)
    (job,) = of_kind(objects, "Job")
    assert hooks(job) == {"pre-install", "pre-upgrade"}
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {
        "before-hook-creation",
        "hook-succeeded",
    }
    assert container(job)["args"] == ["db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Its configuration is a hook too (it exists before the Job), with the pods' content.
    config = named(objects, "ConfigMap", "-config")
    migrate_config = named(objects, "ConfigMap", "-migrate-config")
    assert hooks(migrate_config) == hooks(job)
    weight = int(migrate_config["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(annotations["helm.sh/hook-weight"])
    assert migrate_config["data"] == config["data"]
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == migrate_config["metadata"]["name"]
    # Web and worker only check the schema: no init container, no migrating at start.
    for deployment in of_kind(objects, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert "initContainers" not in pod
        assert "db" not in container(deployment)["args"]
    assert yaml.safe_load(config["data"]["scopeguard.yaml"])["database_auto_migrate"] is False


def test_on_sqlite_the_data_claim_exists_before_the_migration_job(chart: helm.Chart) -> None:
    objects = render(chart, DEFAULTS)
    (claim,) = of_kind(objects, "PersistentVolumeClaim")
    (job,) = of_kind(objects, "Job")
    assert hooks(claim) == {"pre-install"}
    assert int(claim["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in job["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == [claim["metadata"]["name"]]
    # On PostgreSQL the claim (reports only) is an ordinary object, and the Job needs none.
    objects = render(chart, PRODUCTION)
    (claim,) = of_kind(objects, "PersistentVolumeClaim")
    assert not hooks(claim)
    (job,) = of_kind(objects, "Job")
    assert all("persistentVolumeClaim" not in v for v in job["spec"]["template"]["spec"]["volumes"])


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
def test_probes_ask_healthz_and_readyz_on_the_ports_serve_listens_on(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    objects = render(chart, values)
    web = container(named(objects, "Deployment", "-web"))
    port, health = web["ports"]
    args = web["args"]
    assert port["name"] == "http" and health["name"] == "health"
    assert str(port["containerPort"]) == args[args.index("--port") + 1]
    assert str(health["containerPort"]) == args[args.index("--health-port") + 1]
    assert health["containerPort"] != port["containerPort"]
    assert args[args.index("--host") + 1] == "0.0.0.0"
    # Liveness asks gunicorn's master on the health port (busy workers never fail it);
    # startup and readiness ask the app.
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": health["name"]}
    assert web["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    (service,) = of_kind(objects, "Service")
    # Only the app's port is a Service port: the health port is for the kubelet.
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port["name"]]
    labels = named(objects, "Deployment", "-web")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
def test_the_web_deployment_never_starts_the_worker(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    objects = render(chart, values)
    web = container(named(objects, "Deployment", "-web"))
    # `scopeguard serve` is gunicorn without the scheduler (tests/e2e/test_serve.py);
    # `--dev` would run the jobs in-process.
    assert web["args"][0] == "serve"
    assert "--dev" not in web["args"] and "worker" not in web["args"]
    assert "command" not in web  # the image's entrypoint: tini, then scopeguard
    worker = named(objects, "Deployment", "-worker")
    assert container(worker)["args"] == ["worker"]
    assert worker["spec"]["strategy"]["type"] == "Recreate"
    # Nothing routes HTTP to the worker.
    (service,) = of_kind(objects, "Service")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"


def _credentials(document: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value under a key that holds a credential, and Slack/Teams URLs."""
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            hook_url = key == "url" and document.get("type") in ("slack", "teams")
            if key in SECRET_KEYS or key == "database_url" or hook_url:
                yield where, value
            else:
                yield from _credentials(value, where)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _credentials(value, f"{path}[{index}]")


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
def test_no_secret_is_rendered_in_plain_text(chart: helm.Chart, values: dict[str, Any]) -> None:
    objects = render(chart, values)
    assert not of_kind(objects, "Secret")  # the chart references Secrets, never makes one
    found = []
    for config_map in of_kind(objects, "ConfigMap"):
        document = yaml.safe_load(config_map["data"]["scopeguard.yaml"])
        found.extend(_credentials(document))
        for where, value in _credentials(document):
            assert VARIABLE.match(str(value)), (config_map["metadata"]["name"], where, value)
    assert len(found) >= 4  # the walk sees the credentials (jira, web, …)
    for workload in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
        for variable in container(workload).get("env", []):
            # Secrets arrive as files: the environment holds their paths, never a secretKeyRef.
            assert "valueFrom" not in variable, variable
            if variable["name"].endswith("_FILE"):
                assert variable["value"].startswith("/var/run/secrets/scopeguard/")


def test_a_credential_written_into_the_values_fails_rendering(chart: helm.Chart) -> None:
    cases = {
        "jira.api_token": {"config": {"jira": {"api_token": "ATATT3xFfGF0-real-token"}}},
        "smtp.password": {"config": {"smtp": {"password": "hunter2"}}},
        "alerts.channels[0].url": {
            "config": {"alerts": {"channels": [{"type": "slack", "url": "https://hooks.slack"}]}}
        },
        "clients[0].alerts[0].secret": {
            "config": {
                "clients": [
                    {
                        **PRODUCTION["config"]["clients"][0],
                        "alerts": [
                            {"type": "webhook", "url": "https://h.example", "secret": "plain"}
                        ],
                    }
                ]
            }
        },
    }
    for where, override in cases.items():
        with pytest.raises(
            helm.HelmRenderError, match=re.escape(f"config.{where} holds a credential")
        ):
            render(chart, merged(override))
    # A reference to a variable that no Secret provides is refused too.
    with pytest.raises(helm.HelmRenderError, match=r"reads \$\{JIRA_API_TOKEN\}, which must come"):
        render(chart, merged({"secrets": {"variables": ["SCOPEGUARD_API_TOKEN"]}}))


def test_every_variable_of_the_configuration_must_be_provided(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"reads \$\{AGENCY_NAME\}, which nothing sets"):
        render(chart, merged({"config": {"agency": {"name": "${AGENCY_NAME}"}}}))
    with_env = merged(
        {"config": {"agency": {"name": "${AGENCY_NAME}"}}},
        {"extraEnv": [{"name": "AGENCY_NAME", "value": "Northwind"}]},
    )
    assert env_of(named(render(chart, with_env), "Deployment", "-worker"))["AGENCY_NAME"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"web": {"replicas": 2}}, "database.type=sqlite allows one web replica, not 2"),
        ({"worker": {"replicas": 2}}, "database.type=sqlite allows one worker replica, not 2"),
        ({"web": {"autoscaling": {"enabled": True}}}, "database.type=sqlite cannot autoscale"),
        ({"persistence": {"enabled": False}}, "database.type=sqlite needs persistence.enabled"),
    ],
)
def test_sqlite_with_more_than_one_replica_fails_rendering(
    chart: helm.Chart, override: dict[str, Any], message: str
) -> None:
    values = copy.deepcopy(DEFAULTS)
    _merge(values, override)
    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        render(chart, values)
    # The same values on PostgreSQL render: the guard is about SQLite.
    assert render(chart, merged(override))


def test_postgresql_needs_the_secret_with_its_url(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"needs database\.urlSecret\.name"):
        render(chart, merged({"database": {"urlSecret": {"name": ""}}}))
    with pytest.raises(helm.HelmRenderError, match=r"config\.database_url is set by the chart"):
        render(chart, merged({"config": {"database_url": "postgresql://u:p@h/d"}}))
    with pytest.raises(helm.HelmRenderError, match="database_auto_migrate must stay false"):
        render(chart, merged({"config": {"database_auto_migrate": True}}))


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"web": {"replicas": "two"}}, "at '/web/replicas': got string, want integer"),
        ({"worker": {"replicas": 0}}, "at '/worker/replicas': minimum: got 0, want 1"),
        ({"database": {"type": "mysql"}}, "at '/database/type': value must be one of"),
        (
            {"ingress": {"hosts": [{"host": "x", "paths": [{"path": "no-slash"}]}]}},
            "/ingress/hosts/0/paths/0/path",
        ),
        ({"wbe": {"replicas": 2}}, "additional properties 'wbe' not allowed"),
        # The health port beside the app's, never on it.
        ({"web": {"healthPort": 8000}}, "at '/web/healthPort'"),
        ({"web": {"healthPort": 70000}}, "at '/web/healthPort': maximum"),
    ],
)
def test_the_schema_rejects_a_wrong_value_with_its_path(
    chart: helm.Chart, override: dict[str, Any], where: str
) -> None:
    values = copy.deepcopy(DEFAULTS)
    _merge(values, override)
    with pytest.raises(helm.HelmValuesError, match=re.escape(where)):
        render(chart, values)
    with pytest.raises(helm.HelmValuesError, match=re.escape(where)):
        chart.validate_schema(values)
    chart.validate_schema(PRODUCTION)


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
def test_the_pods_configuration_is_valid_with_secrets_read_as_mounted(
    chart: helm.Chart, values: dict[str, Any], tmp_path: Path
) -> None:
    """ScopeGuard accepts the ConfigMap, reading each secret from where the pod mounts it."""
    objects = render(chart, values)
    worker = named(objects, "Deployment", "-worker")
    pod = worker["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in container(worker)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # Lay the projected Secret volume out as the kubelet would, under tmp_path.
    mounted = tmp_path / mounts["secrets"].lstrip("/")
    mounted.mkdir(parents=True)
    for source in volumes["secrets"]["projected"]["sources"]:
        for item in source["secret"]["items"]:
            value = f"{source['secret']['name']}/{item['key']}-value-0123456789abcdef"
            if item["path"] == "SCOPEGUARD_DATABASE_URL":
                value = "postgresql+psycopg://scopeguard:pw@postgres:5432/scopeguard"
            elif item["path"].endswith("_URL"):
                value = "https://hooks.slack.com/services/T0/B0/x"
            (mounted / item["path"]).write_text(value + "\n")
    env = {
        name: str(tmp_path / value.lstrip("/")) if name.endswith("_FILE") else value
        for name, value in env_of(worker).items()
    }
    config_map = volumes["config"]["configMap"]["name"]
    (text,) = (
        c["data"]["scopeguard.yaml"]
        for c in of_kind(objects, "ConfigMap")
        if c["metadata"]["name"] == config_map
    )
    settings = parse_settings(text, env=env)
    assert settings.jira.api_token == "scopeguard-secrets/JIRA_API_TOKEN-value-0123456789abcdef"
    assert settings.web.secret_key and settings.database_auto_migrate is False
    assert str(settings.instance_path) == mounts["instance"]
    if values is PRODUCTION:
        assert settings.smtp is not None
        assert settings.smtp.password == "scopeguard-smtp/password-value-0123456789abcdef"
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
    else:
        assert settings.resolved_database_url == "sqlite:////var/lib/scopeguard/scopeguard.db"


def test_the_documented_secret_command_creates_every_default_variable() -> None:
    documented = (CHART / "values.yaml").read_text()
    for name in DEFAULTS["secrets"]["variables"]:
        assert f"--from-literal={name}=" in documented
    production = (CHART / "values-production.yaml").read_text()
    for name in PRODUCTION["secrets"]["variables"]:
        assert f"--from-literal={name}=" in production


@pytest.mark.parametrize("values", [DEFAULTS, PRODUCTION], ids=["default", "production"])
def test_pods_run_unprivileged_on_a_read_only_root_with_writable_scratch(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    dockerfile_user = re.search(r"^USER (\d+):(\d+)$", (REPO_ROOT / "Dockerfile").read_text(), re.M)
    assert dockerfile_user is not None
    for workload in [
        *of_kind(render(chart, values), "Deployment"),
        *of_kind(render(chart, values), "Job"),
    ]:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert str(pod["securityContext"]["runAsUser"]) == dockerfile_user.group(1)
        assert pod["automountServiceAccountToken"] is False
        main = container(workload)
        security = main["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"requests", "limits"} <= main["resources"].keys()
        assert {"cpu", "memory"} <= main["resources"]["limits"].keys()
        volumes = {v["name"]: v for v in pod["volumes"]}
        writable = {
            m["mountPath"]
            for m in main["volumeMounts"]
            if not m.get("readOnly")
            and {"emptyDir", "persistentVolumeClaim"} & volumes[m["name"]].keys()
        }
        env = env_of(workload)
        for path in ("/tmp", env["MPLCONFIGDIR"], env["XDG_CACHE_HOME"], env["HOME"]):
            assert any(path == w or path.startswith(f"{w}/") for w in writable), path
        assert "emptyDir" in volumes["cache"] and "emptyDir" in volumes["tmp"]


def test_production_scales_web_behind_tls_with_a_disruption_budget(chart: helm.Chart) -> None:
    objects = render(chart, PRODUCTION)
    web = named(objects, "Deployment", "-web")
    assert "replicas" not in web["spec"]  # the autoscaler's
    (hpa,) = of_kind(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": web["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] >= 2
    (pdb,) = of_kind(objects, "PodDisruptionBudget")
    labels = web["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1
    (ingress,) = of_kind(objects, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    (service,) = of_kind(objects, "Service")
    assert backend == {
        "name": service["metadata"]["name"],
        "port": {"number": service["spec"]["ports"][0]["port"]},
    }
    # The Forge app's remote baseUrl and the panel's links are this host.
    settings_url = yaml.safe_load(named(objects, "ConfigMap", "-config")["data"]["scopeguard.yaml"])
    assert settings_url["web"]["public_url"] == f"https://{rule['host']}"
    # RWX reports: the pods spread over nodes, not pinned together.
    assert "podAffinity" not in web["spec"]["template"]["spec"].get("affinity", {})
    assert named(objects, "Deployment", "-worker")["spec"]["replicas"] == 2


def test_a_read_write_once_claim_keeps_every_pod_on_one_node(chart: helm.Chart) -> None:
    objects = render(chart, DEFAULTS)
    for workload in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
        pod = workload["spec"]["template"]["spec"]
        (term,) = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        # The Job's pod matches its own term, so the first pod of an install can schedule.
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert term["labelSelector"]["matchLabels"].items() <= labels.items()
