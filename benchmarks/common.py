"""What the benchmark scripts share: paths, the bridge set-up, the upstream servers, stdio servers, process memory,
percentiles and tables. Run the scripts from the repository root in the dev venv: ``python benchmarks/<name>.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.measure import percentile  # noqa: E402

BRIDGE_DIR = BENCH / "bridge"
BRIDGE_PYTHON = BENCH / ".bridge-venv" / "bin" / "python"
BRIDGE_SPEC = BENCH / ".cache" / "civis_imports_openapi3.json"
BRIDGE_SERVER = BRIDGE_DIR / "bridge_server.py"
FLOOR_SERVER = BENCH / "floor_server.py"
PYTHON = sys.executable

# The same read on both sides: GET /imports/{id} (civis-mcp's imports_get; the bridge names it from the summary).
OURS_GET = "imports_get"
BRIDGE_GET = "Get_details_about_an_import"
OURS_GET_CSV = "imports_get_files_csv"
BRIDGE_GET_CSV = "Get_a_CSV_Import"
BRIDGE_CSV_LOGS = "Get_the_logs_for_a_run_3"


def ensure_bridge() -> None:
    """Set the bridge up (venv + converted spec) unless it already is."""
    if BRIDGE_PYTHON.exists() and BRIDGE_SPEC.exists():
        return
    subprocess.run(["bash", str(BRIDGE_DIR / "setup.sh")], check=True)


def bridge_version() -> str:
    out = subprocess.run(
        [str(BRIDGE_PYTHON), "-c", "import importlib.metadata as m; print(m.version('fastmcp'), m.version('mcp'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return f"fastmcp {out[0]} (mcp {out[1]})"


def bridge_routes() -> dict[str, tuple[str, str]]:
    """The bridge's tool names with the (verb, path) each calls."""
    out = subprocess.run(
        [str(BRIDGE_PYTHON), str(BRIDGE_SERVER), "--routes"],
        capture_output=True,
        text=True,
        check=True,
        env={**_base_env(), "BRIDGE_OPENAPI": str(BRIDGE_SPEC)},
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {row["name"]: (row["verb"], row["path"]) for row in rows}


# --- servers over stdio ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One MCP server to start over stdio."""

    label: str
    command: list[str]
    env: dict[str, str]
    marker: str = ""
    """A piece of the command line that finds its process among this process's children."""

    def params(self) -> Any:
        from mcp import StdioServerParameters

        return StdioServerParameters(command=self.command[0], args=self.command[1:], env=self.env)

    def transport(self) -> Any:
        """The SDK's stdio transport to this server, its stderr (its log) thrown away, for ``Client(...)``."""
        from mcp.client.stdio import stdio_client

        return stdio_client(self.params(), errlog=_DEVNULL)


_DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {name: os.environ[name] for name in keep if name in os.environ}


def ours(url: str = "http://127.0.0.1:9/", key: str = "bench-key", **env: str) -> Side:
    return Side(
        "civis-mcp",
        [PYTHON, "-m", "civis_mcp", "serve"],  # the default log level (INFO), as users run it
        {**_base_env(), "CIVIS_API_KEY": key, "CIVIS_API_ENDPOINT": url, **env},
        "civis_mcp",
    )


def bridge(url: str = "http://127.0.0.1:9/", key: str = "bench-key") -> Side:
    return Side(
        "bridge",
        [str(BRIDGE_PYTHON), str(BRIDGE_SERVER)],
        {
            **_base_env(),
            "CIVIS_API_KEY": key,
            "CIVIS_API_ENDPOINT": url,
            "BRIDGE_OPENAPI": str(BRIDGE_SPEC),
            "FASTMCP_LOG_LEVEL": "WARNING",
        },
        "bridge_server.py",
    )


def floor() -> Side:
    return Side("floor (bare MCPServer, 1 tool)", [PYTHON, str(FLOOR_SERVER)], _base_env())


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


def raw_tools_list(side: Side, timeout: float = 60.0) -> tuple[float, bytes]:
    """Spawn ``side``, initialize, ask ``tools/list``: (seconds from spawn to the answer, the answer's line)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        side.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=side.env
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        messages = [INITIALIZE, {"jsonrpc": "2.0", "method": "notifications/initialized"}]
        messages.append({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        process.stdin.flush()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"{side.label} closed stdout before answering tools/list")
            if b'"id":2' in line.replace(b" ", b""):
                return time.perf_counter() - started, line.rstrip(b"\n")
        raise TimeoutError(f"{side.label}: no tools/list answer in {timeout} s")
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- process memory -------------------------------------------------------------------------------------------------


def _status(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def vm_hwm(pid: int) -> int | None:
    """Peak resident memory of a process, bytes (VmHWM)."""
    return _status(pid, "VmHWM")


def vm_rss(pid: int) -> int | None:
    return _status(pid, "VmRSS")


def child_pids(marker: str) -> set[int]:
    """PIDs of this process's children whose command line contains ``marker``."""
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == me and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.add(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


# --- upstream servers (benchmarks/upstream.py in a process of its own) ----------------------------------------------


class Upstream:
    """A running ``benchmarks/upstream.py``: ``url``, ``api_key``, ``stats()``, ``reset()``."""

    def __init__(self, process: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.process = process
        self.info = info
        self.url: str = info["url"]
        self.api_key: str = info["api_key"]

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def stats(self) -> dict[str, int]:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")


@contextmanager
def upstream(kind: str, *args: str) -> Iterator[Upstream]:
    process = subprocess.Popen(
        [PYTHON, str(BENCH / "upstream.py"), kind, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"upstream {kind} did not start")
        yield Upstream(process, json.loads(line))
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- figures --------------------------------------------------------------------------------------------------------


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99)}


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    if 0 < a / b < 0.01:
        return f"1/{b / a:,.0f}"
    return f"{a / b:.2f}x"


def mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f} MiB"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, right-aligned numbers."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if index else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        )

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def machine() -> str:
    cpus = os.cpu_count()
    return f"Python {sys.version.split()[0]}, {cpus} CPU(s), {os.uname().sysname} {os.uname().release}"


def run(main: Any) -> None:
    """Run an async main with a clean Ctrl-C."""
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)


# --- MCP clients ----------------------------------------------------------------------------------------------------


def serve_like_logging() -> None:
    """Logging as ``civis-mcp serve`` sets it up by default (INFO, one stream handler), into /dev/null: an
    in-process server then pays what a served one pays per log record, and the SDK's own set-up (Rich, at INFO)
    is not used, as it is not under ``serve``."""
    import logging

    handler = logging.StreamHandler(_DEVNULL)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


async def _no_validation(name: str, result: Any) -> None:
    return None


def unvalidated(client: Any) -> Any:
    """Switch off the SDK client's check of results against the tools' output schemas (client-side work, the same
    for both sides; and the bridge's schema for GET /imports/{id} requires deprecated fields the sandbox leaves out,
    so the check rejects the bridge's answer; see README)."""
    client.session.validate_tool_result = _no_validation
    return client
