"""The container image, as far as it can be checked without a Docker engine.

`make lint` runs hadolint on the Dockerfile. Here the Dockerfile is read with
BuildKit's own parser (the ``dockerfile`` package), and what it runs is run:
its ENTRYPOINT (Debian's tini, then the ``scopeguard`` console script) with its
CMD and the other commands the README documents, against a temporary SQLite
database, with the environment the image sets. (Not on the tests' pinned clock:
nothing here is dated, and gunicorn's arbiter fails its sleeps under libfaketime.)
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dockerfile
import pytest
import requests

from scopeguard.adapters.store.db import head_revision
from tests.support.cli import write_minimal_config
from tests.support.paths import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Stage:
    name: str
    instructions: tuple[dockerfile.Command, ...]

    def all(self, cmd: str) -> list[dockerfile.Command]:
        return [i for i in self.instructions if i.cmd.upper() == cmd]

    def one(self, cmd: str) -> dockerfile.Command:
        (found,) = self.all(cmd)
        return found

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            pairs = instruction.value
            for key, value in zip(pairs[::2], pairs[1::2], strict=True):
                values[key] = value.strip('"')
        return values

    def labels(self) -> dict[str, str]:
        pairs = [v for i in self.all("LABEL") for v in i.value]
        return {k: v.strip('"') for k, v in zip(pairs[::2], pairs[1::2], strict=True)}

    def args(self) -> dict[str, str]:
        return dict(a.value[0].partition("=")[::2] for a in self.all("ARG") if "=" in a.value[0])


def _stages() -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: list[dockerfile.Command] = []
    name = ""
    for instruction in dockerfile.parse_file(str(REPO_ROOT / "Dockerfile")):
        if instruction.cmd.upper() == "FROM":
            name = instruction.value[-1]
            current = []
            stages[name] = Stage(name, ())
        if name:
            current.append(instruction)
            stages[name] = Stage(name, tuple(current))
    return stages


STAGES = _stages()
RUNTIME = STAGES["runtime"]
BUILDER = STAGES["builder"]
ENTRYPOINT = list(RUNTIME.one("ENTRYPOINT").value)
CMD = list(RUNTIME.one("CMD").value)


def _apt_packages(stage: Stage) -> set[str]:
    packages: set[str] = set()
    for run in stage.all("RUN"):
        for command in run.value[0].split("&&"):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                packages.update(w for w in words[2:] if not w.startswith("-"))
    return packages


def _image_env(config: Path) -> dict[str, str]:
    """The runtime stage's ENV, with this machine's virtualenv for /opt/venv and ``config``."""
    env = dict(os.environ)
    for key, value in RUNTIME.env().items():
        env[key] = value.replace("${PATH}", os.environ["PATH"])
    env["PATH"] = env["PATH"].replace("/opt/venv/bin", str(VENV_BIN))
    env["SCOPEGUARD_CONFIG"] = str(config)
    env["MPLCONFIGDIR"] = str(config.parent / "matplotlib")
    env["XDG_CACHE_HOME"] = str(config.parent / "cache")
    return env


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, check=False)


def test_the_entrypoint_is_debians_tini_then_the_console_script() -> None:
    assert ENTRYPOINT == ["/usr/bin/tini", "--", "scopeguard"]
    assert "tini" in _apt_packages(RUNTIME)
    listed = subprocess.run(["dpkg", "-L", "tini"], capture_output=True, text=True, check=True)
    assert ENTRYPOINT[0] in listed.stdout.split()
    assert PYPROJECT["project"]["scripts"]["scopeguard"] == "scopeguard.entrypoints.cli:main"
    assert CMD == ["serve"]


def test_it_runs_as_a_non_root_user_with_caches_under_tmp() -> None:
    user = RUNTIME.one("USER").value[0]
    uid, _, gid = user.partition(":")
    assert int(uid) >= 1000 and int(gid) >= 1000  # numeric: Kubernetes' runAsNonRoot checks it
    env = RUNTIME.env()
    # The root filesystem may be read-only: everything written goes to /tmp or the volume.
    assert env["MPLCONFIGDIR"].startswith("/tmp/") and env["XDG_CACHE_HOME"].startswith("/tmp/")
    assert RUNTIME.one("VOLUME").value == ("/var/lib/scopeguard",)
    assert env["SCOPEGUARD_CONFIG"] == "/etc/scopeguard/scopeguard.yaml"
    assert env["SCOPEGUARD_HOST"] == "0.0.0.0"
    assert RUNTIME.one("EXPOSE").value == (env["SCOPEGUARD_PORT"], env["SCOPEGUARD_HEALTH_PORT"])


def test_labels_carry_version_source_and_licence_from_pyproject() -> None:
    labels = RUNTIME.labels()
    args = RUNTIME.args()
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert args["VERSION"] == PYPROJECT["project"]["version"]
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]
    assert labels["org.opencontainers.image.source"] == "${SOURCE_URL}"


def test_the_runtime_has_the_libraries_the_tests_run_weasyprint_with() -> None:
    # The PDF tests run on the packages scripts/install-system-deps.sh installs; the image
    # must have the same ones, or a report that renders in CI fails in production.
    script = (REPO_ROOT / "scripts" / "install-system-deps.sh").read_text()
    listed = re.search(r"PACKAGES=\(\n(.*?)\n\)", script, re.S)
    assert listed is not None
    tested = set(listed.group(1).split())
    runtime = _apt_packages(RUNTIME)
    assert runtime <= tested
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"} <= runtime
    assert not _apt_packages(BUILDER)  # no compiler or -dev package anywhere


def test_the_build_context_lets_in_what_the_builder_copies() -> None:
    copied = {s for c in BUILDER.all("COPY") for s in c.value[:-1]}
    assert copied == {"pyproject.toml", "README.md", "LICENSE", "src"}
    # Building the package reads these; a context without them fails the build.
    project = PYPROJECT["project"]
    assert {project["readme"], *project["license-files"]} <= copied
    allowed = {
        line[1:].strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    assert copied == allowed
    assert RUNTIME.one("COPY").flags == ("--from=builder",)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (CMD, "gunicorn"),
        (["worker"], "periodic jobs"),
        (["db", "upgrade"], "this release's revision"),
    ],
)
def test_each_command_of_the_image_runs_under_tini(
    tmp_path: Path, command: list[str], says: str
) -> None:
    result = _run([*ENTRYPOINT, *command, "--help"], _image_env(tmp_path / "scopeguard.yaml"))
    assert result.returncode == 0, result.stderr
    assert says in " ".join(result.stdout.split())


def test_db_upgrade_then_serve_as_the_image_runs_them(tmp_path: Path) -> None:
    config = write_minimal_config(tmp_path, f"sqlite:///{tmp_path / 'data' / 'scopeguard.db'}")
    env = _image_env(config)
    refused = _run([*ENTRYPOINT, *CMD], env)
    assert refused.returncode == 1
    assert "run `scopeguard db upgrade`" in refused.stderr

    upgraded = _run([*ENTRYPOINT, "db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _run([*ENTRYPOINT, "db", "current"], env).stdout.startswith(f"{head_revision()} ")

    port, health = _free_port(), _free_port()
    env["SCOPEGUARD_PORT"] = str(port)  # the container's environment, for the check too
    env["SCOPEGUARD_HEALTH_PORT"] = str(health)
    with _running([*ENTRYPOINT, *CMD], env) as process:
        _wait_ready(process, f"http://127.0.0.1:{port}")
        # gunicorn's master answers the health port, which the HEALTHCHECK asks.
        probe = requests.get(f"http://127.0.0.1:{health}/healthz", timeout=5)
        assert probe.json() == {"status": "ok"}
        # The image's HEALTHCHECK, pointed at this tini instead of PID 1.
        assert _healthcheck(process.pid, env).returncode == 0
        process.send_signal(signal.SIGTERM)  # tini forwards it; gunicorn stops gracefully
        assert process.wait(timeout=30) == 0


def test_the_healthcheck_fails_a_web_container_that_does_not_answer(tmp_path: Path) -> None:
    env = _image_env(tmp_path / "scopeguard.yaml")
    silent_port = _free_port()
    env["SCOPEGUARD_HEALTH_PORT"] = str(silent_port)
    # A process whose command line says `scopeguard serve` on ports where nothing listens.
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "scopeguard", "serve"]
    with _running([*argv, "--port", str(_free_port())], env) as silent:
        result = _healthcheck(silent.pid, env)
    assert result.returncode == 1
    assert f"no answer from http://127.0.0.1:{silent_port}/healthz" in result.stderr


def test_the_healthcheck_passes_a_worker_container(tmp_path: Path) -> None:
    config = write_minimal_config(
        tmp_path, f"sqlite:///{tmp_path / 'scopeguard.db'}", database_auto_migrate=True
    )
    env = _image_env(config)
    with _running([*ENTRYPOINT, "worker"], env) as worker:
        # Its stop handlers are in place once it says it is running: a SIGTERM before
        # that ended it with 143 (a second's sleep was not always long enough in CI).
        assert worker.stdout is not None
        seen = ""
        while " running; stop with" not in seen:
            line = worker.stdout.readline()
            assert line, f"the worker ended before it ran: {seen}"
            seen += line
        assert worker.poll() is None
        assert _healthcheck(worker.pid, env).returncode == 0
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


def _healthcheck(pid: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    healthcheck = list(RUNTIME.one("HEALTHCHECK").value)
    assert healthcheck[:2] == ["CMD", "python"]
    return _run([sys.executable, *healthcheck[2:], "--pid", str(pid), "--timeout", "2"], env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def _running(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``argv`` in its own process group, ended with everything it started when the block ends."""
    process = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        # tini is not PID 1 here, so nothing else would end gunicorn's workers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def _wait_ready(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "not ready in 60 s"
        time.sleep(0.2)
