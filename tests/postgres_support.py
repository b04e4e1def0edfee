"""A real PostgreSQL server for tests (no tests here): initdb and pg_ctl from Debian's package, in a temporary
directory, listening only on 127.0.0.1 at a free port, stopped afterwards.

The binaries are installed by ``tests/services/ensure_postgres.sh`` when missing, so a test never skips for want of
PostgreSQL. PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system user (made by the
Debian package), through ``runuser``; as anyone else it runs as that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "postgres_server"]

ENSURE_SCRIPT = Path(__file__).parent / "services" / "ensure_postgres.sh"
_SERVER_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    superuser: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[4]))
    if not found:
        subprocess.run(["bash", str(ENSURE_SCRIPT)], check=True, timeout=600)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[4]))
    if not found:
        raise RuntimeError(f"PostgreSQL is not installed and {ENSURE_SCRIPT} could not install it.")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", _SERVER_USER, "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster on 127.0.0.1 (trust authentication, superuser ``postgres``), stopped at the end."""
    bin_dir = _bin_dir()
    home = Path(tempfile.mkdtemp(prefix="civis-sandbox-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, _SERVER_USER, _SERVER_USER)
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    try:
        subprocess.run(
            _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            **run,  # type: ignore[call-overload]
        )
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={home} -c fsync=off"
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-o", options, "-w", "start"]
            ),
            **run,  # type: ignore[call-overload]
        )
        try:
            yield PostgresServer(port=port, superuser="postgres")
        finally:
            subprocess.run(
                _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
