#!/usr/bin/env python3
"""Start Redis, N civis-mcp replicas and nginx in front of them, all on loopback, until Ctrl-C (or SIGTERM).

    python deploy/local_stack.py --replicas 3 --port 8080               # against CIVIS_API_ENDPOINT (Civis)
    python deploy/local_stack.py --replicas 3 --port 8080 --sandbox     # against a local sandbox, two demo users

Every caller sends their own Civis key (``--auth civis-key``); the replicas share request-state keys (from
CIVIS_MCP_STATE_KEYS, or generated for this run) and Redis. Configuration files, pid files and every log go to
``--dir`` (a new temporary directory by default). Once everything answers, one JSON line on stdout says where each
part runs (the tests read it); the MCP endpoint is ``http://127.0.0.1:PORT/mcp``.

Needs ``nginx`` and ``redis-server`` on PATH (Debian: ``apt-get install nginx redis-server``) and civis-mcp with
its ``hosted`` extra (``pip install 'civis-mcp[hosted]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_START_TIMEOUT = 60.0
SANDBOX_KEYS = {"alice-sandbox-key-1001": 1001, "bob-sandbox-key-1003": 1003}
"""With --sandbox: the keys of two demo users (the main demo user, and one who sees little of the demo data)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _find(program: str) -> str:
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, Path("/usr/bin") / program) if p.exists()), None
    )
    if found is None:
        raise SystemExit(
            f"{program} is not installed; run tests/services/ensure_hosted.sh "
            "(Debian: apt-get install nginx redis-server)."
        )
    return found


def nginx_config(prefix: Path, listen_port: int, replicas: list[tuple[str, int]]) -> str:
    template = (HERE / "nginx.conf.template").read_text()
    pool = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for _, port in replicas)
    sticky = []
    for name, port in replicas:
        backups = "\n".join(f"        server 127.0.0.1:{other} backup;" for n, other in replicas if n != name)
        own = f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
        sticky.append(f"    upstream replica_{name} {{\n{own}\n{backups}\n    }}")
    session_map = "\n".join(f'        "~^{name}\\\\." replica_{name};' for name, _ in replicas)
    return (
        template.replace("@@PREFIX@@", str(prefix))
        .replace("@@LISTEN@@", f"127.0.0.1:{listen_port}")
        .replace("@@POOL@@", pool)
        .replace("@@STICKY_UPSTREAMS@@", "\n".join(sticky))
        .replace("@@SESSION_MAP@@", session_map)
    )


def _wait(what: str, check: Any, process: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
            raise SystemExit(f"{what} exited with status {process.returncode} while starting:\n{tail}")
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not become ready within {_START_TIMEOUT:.0f} s")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _redis_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Stack:
    """The running parts; ``stop`` ends them in reverse order."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.dir / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        self.processes.append((name, process))
        return process

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start(args: argparse.Namespace, stack: Stack, endpoint: str) -> dict[str, Any]:
    directory = stack.dir
    info: dict[str, Any] = {"dir": str(directory)}
    redis_port = None
    if not args.no_redis:
        redis_port = free_port()
        conf = directory / "redis.conf"
        conf.write_text(
            f'port {redis_port}\nbind 127.0.0.1\nprotected-mode yes\nsave ""\nappendonly no\n'
            f"dir {directory}\ndaemonize no\nlogfile {directory / 'redis.log'}\n"
        )
        redis = stack.spawn("redis-launch", [_find("redis-server"), str(conf)])
        _wait("redis-server", lambda: _redis_ok(redis_port), redis, directory / "redis.log")
        info["redis"] = {"pid": redis.pid, "port": redis_port}
    state_keys = os.environ.get("CIVIS_MCP_STATE_KEYS") or secrets.token_hex(32)
    replicas: list[dict[str, Any]] = []
    for index in range(1, args.replicas + 1):
        name, port = f"r{index}", free_port()
        env = {key: value for key, value in os.environ.items() if key != "CIVIS_API_KEY"}
        env.update(
            CIVIS_API_ENDPOINT=endpoint,
            CIVIS_MCP_AUTH="civis-key",
            CIVIS_MCP_REPLICA=name,
            CIVIS_MCP_STATE_KEYS=state_keys,
        )
        if redis_port is not None:
            env["CIVIS_MCP_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        else:
            env.pop("CIVIS_MCP_REDIS_URL", None)
        argv = [sys.executable, "-m", "civis_mcp", "serve", "--http", f"127.0.0.1:{port}", *args.serve_args]
        process = stack.spawn(name, argv, env)
        replicas.append({"name": name, "port": port, "pid": process.pid, "log": str(directory / f"{name}.log")})
    for replica, (_, process) in zip(replicas, stack.processes[-len(replicas) :], strict=True):
        url = f"http://127.0.0.1:{replica['port']}/healthz"
        _wait(f"replica {replica['name']}", lambda url=url: _http_ok(url), process, Path(replica["log"]))
    info["replicas"] = replicas
    nginx_port = args.port or free_port()
    prefix = directory / "nginx"
    prefix.mkdir(exist_ok=True)
    conf_path = prefix / "nginx.conf"
    conf_path.write_text(nginx_config(prefix, nginx_port, [(r["name"], r["port"]) for r in replicas]))
    nginx = stack.spawn("nginx-launch", [_find("nginx"), "-p", str(prefix), "-c", str(conf_path), "-g", "daemon off;"])
    _wait("nginx", lambda: _http_ok(f"http://127.0.0.1:{nginx_port}/healthz"), nginx, prefix / "nginx-error.log")
    info["nginx"] = {
        "pid": nginx.pid,
        "port": nginx_port,
        "logs": [str(prefix / "nginx-access.log"), str(prefix / "nginx-error.log")],
    }
    info["url"] = f"http://127.0.0.1:{nginx_port}/mcp"
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="nginx's port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--dir", type=Path, default=None, help="for configs, pids and logs (default: a new temp dir)")
    parser.add_argument("--no-redis", action="store_true", help="no Redis: the replicas refuse confirmed writes")
    parser.add_argument("--sandbox", action="store_true", help="serve a local sandbox with two demo users' keys")
    parser.add_argument("serve_args", nargs="*", help="more `civis-mcp serve` arguments for every replica (after --)")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 32:
        parser.error("--replicas takes 1 to 32")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="civis-mcp-stack-"))
    directory.mkdir(parents=True, exist_ok=True)
    stack = Stack(directory)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ExitStack() as context:
        endpoint = os.environ.get("CIVIS_API_ENDPOINT", "https://api.civisanalytics.com/")
        if args.sandbox:
            from civis_mcp.sandbox import SandboxConfig, running_sandbox

            main_key, main_user = next(iter(SANDBOX_KEYS.items()))
            others = tuple((key, user) for key, user in SANDBOX_KEYS.items() if key != main_key)
            sandbox = context.enter_context(
                running_sandbox(SandboxConfig(api_key=main_key, caller_id=main_user, user_keys=others))
            )
            endpoint = sandbox.url
        try:
            info = start(args, stack, endpoint)
            if args.sandbox:
                info["sandbox"] = {"url": endpoint, "keys": SANDBOX_KEYS}
            print(json.dumps(info), flush=True)
            print(
                f"civis-mcp: {args.replicas} replica(s) behind nginx at {info['url']}; Ctrl-C stops.", file=sys.stderr
            )
            while not stop.is_set():
                stop.wait(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
