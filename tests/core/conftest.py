"""Fixtures of the engine's tests: a real redis-server for the state stores and the cache, and
one LocalMiniLM for the semantic building blocks and the semantic cache.

The Redis server is started by the session on a free loopback port in a temporary folder and
stopped at the end. Without ``redis-server`` the Redis tests skip, except in CI (``CI=true``),
where a missing or broken Redis fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmara.semantic import LocalMiniLM


@pytest.fixture(scope="session")
def minilm() -> LocalMiniLM:
    """Loading its weights is the slow part: once a session."""
    return LocalMiniLM()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the Redis tests: {reason}")
    pytest.skip(f"{reason}; install redis-server (apt-get install redis-server) to run them")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server this session started (and stops)."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server is not installed")
    assert binary is not None
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no"]
    log = (folder / "redis.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_until_ready(server, url, folder / "redis.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_ready(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    deadline = time.monotonic() + 10
    try:
        while True:
            if server.poll() is not None:
                _unavailable(f"redis-server exited at start: {log.read_text()[-500:]}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    _unavailable("redis-server did not answer within 10 s")
                time.sleep(0.02)  # polling for readiness, not timing anything
    finally:
        client.close()
