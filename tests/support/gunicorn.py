"""ScopeGuard under a real gunicorn on a loopback port, as it runs in production.

The server runs on the real clock (see :func:`gunicorn`): use it for limits, memory
and latency, not for figures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from scopeguard.adapters.store.db import Database
from scopeguard.config import load_settings


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Gunicorn:
    """A running gunicorn: its URL and its master's process id."""

    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _wait_until_up(
    process: subprocess.Popen[bytes],
    probe: str,
    *,
    timeout: float,
    log: IO[bytes],
    log_path: Path,
    what: str,
) -> None:
    """Poll ``probe`` until it answers 200; the end of the log if the process dies or
    ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                text = log_path.read_text(errors="replace")
                raise RuntimeError(f"{what} did not start:\n{text[-3000:]}") from None
            time.sleep(0.2)


@contextmanager
def gunicorn(config_file: Path, *args: str, timeout: float = 60.0) -> Iterator[Gunicorn]:
    """Serve ``create_app()`` for ``config_file`` until the block ends (SIGTERM then).

    The database is migrated first, as an operator's ``scopeguard db upgrade``
    would: processes refuse a schema that is not their release's.
    """
    Database(load_settings(config_file).resolved_database_url).upgrade()
    port = free_port()
    # Not under libfaketime: gunicorn's arbiter sleeps fail with EINVAL there. Callers
    # check limits and timings only, never figures that depend on the date.
    env = dict(os.environ)
    env["SCOPEGUARD_CONFIG"] = str(config_file)
    log = (config_file.parent / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            *args,
            "scopeguard.entrypoints.web:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(
            process,
            url + "/healthz",
            timeout=timeout,
            log=log,
            log_path=config_file.parent / "gunicorn.log",
            what="gunicorn",
        )
        yield Gunicorn(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Served:
    """A running ``scopeguard serve``: its URL, its health port's URL (if any), its process."""

    url: str
    health_url: str | None
    process: subprocess.Popen[bytes]
    """gunicorn's arbiter: ``scopeguard serve`` runs it in its own process."""
    log: Path

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the arbiter)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


@contextmanager
def scopeguard_serve(
    config_file: Path, *args: str, health_port: bool = False, timeout: float = 60.0
) -> Iterator[Served]:
    """``scopeguard serve ARGS`` (gunicorn, as the image runs it) on free loopback ports.

    With ``health_port``, ``--health-port`` too. Yields once ``/readyz`` answers on the
    main port; SIGTERM when the block ends. The database must be at this release's
    schema (or the configuration migrate it).
    """
    port = free_port()
    command = [sys.executable, "-m", "scopeguard", "--config", str(config_file), "serve"]
    command += ["--port", str(port), *args]
    health_url = None
    if health_port:
        health = free_port()
        command += ["--health-port", str(health)]
        health_url = f"http://127.0.0.1:{health}"
    log_path = config_file.parent / "serve.log"
    log = log_path.open("wb")
    # Not on the pinned clock: gunicorn's arbiter gets EINVAL from its sleeps under libfaketime.
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(
            process,
            url + "/readyz",
            timeout=timeout,
            log=log,
            log_path=log_path,
            what="scopeguard serve",
        )
        yield Served(url, health_url, process, log_path)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@contextmanager
def slow_clients(url: str, count: int, *, every: float = 0.2) -> Iterator[list[socket.socket]]:
    """``count`` clients that send a request head one header at a time and never finish it.

    A gunicorn sync worker reads a request to its end before it serves anything
    else, so each of these holds one worker for as long as the block lasts (or
    until gunicorn's ``--timeout`` kills the worker): the slowest request there is.
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sockets = [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]
    stop = threading.Event()

    def trickle() -> None:
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: scopeguard\r\n")
        while not stop.wait(every):
            for sock in sockets:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in sockets:
            sock.close()


def probe_milliseconds(url: str, count: int, *, interval: float = 0.02) -> list[float]:
    """``count`` GETs of ``url`` on a new connection each (as the kubelet probes), in ms.

    Any answer but 200 within 5 s fails.
    """
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200, answer.status
            answer.read()
        samples.append((time.perf_counter() - start) * 1000)
        time.sleep(interval)
    return samples


def socket_holders(port: int, pids: list[int]) -> list[int]:
    """Which of ``pids`` hold the socket listening on loopback ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    holders = []
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target in inodes:
                holders.append(pid)
                break
    return holders
