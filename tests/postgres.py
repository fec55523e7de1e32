"""A PostgreSQL server of a test's own: initdb + pg_ctl in a temporary directory, on a free loopback
port, trusting local connections; initdb refuses to run as root, so as root the server runs as the
'postgres' user. Absent binaries skip the test with the reason (CI fails instead: .ci/run installs
the postgresql package)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _free_port


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def require() -> Path:
    """The folder of PostgreSQL's binaries; skips (fails in CI) when they are absent."""
    found = bin_dir()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are absent in CI: .ci/run installs the postgresql package")
        pytest.skip("PostgreSQL binaries (/usr/lib/postgresql/*/bin) are absent; apt-get install postgresql")
    return found


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start a server, yield the URL of its ``postgres`` database, stop it (immediately) at the end."""
    binaries = require()
    folder = Path(tempfile.mkdtemp(prefix="mfcore-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        os.chmod(folder, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*command):
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120, cwd=folder)
    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       check=False, capture_output=True, timeout=60, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Create the empty database ``name`` on the server at ``url``; its URL."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
