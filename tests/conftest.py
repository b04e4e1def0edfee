"""Suite-wide test set-up: how many workers ``-n auto`` starts, civis-mcp compiled once before they start, the
``command`` fixture, and two savings in third-party code the suite uses (each explained where it is made).
"""

from __future__ import annotations

import compileall
import gc
import io
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import Draft202012Validator

from civis_mcp.cli import main

# The MCP SDK's client checks each tool's output schema against the JSON Schema meta-schema the first time a session
# sees the tool (about 10 ms a schema), and the tests open a new session for nearly every test: the same few dozen
# schemas were checked tens of thousands of times. ``check_schema`` is a pure function of the schema, so the suite
# remembers which schemas passed; a schema that fails is checked (and fails) every time, and every result is still
# validated against its schema by the client.
_passed: set[str] = set()
_check_schema = Draft202012Validator.check_schema


def _check_schema_once(cls: type[Draft202012Validator], schema: Any, format_checker: Any = None) -> None:
    key = json.dumps(schema, sort_keys=True)
    if key in _passed:
        return
    _check_schema(schema) if format_checker is None else _check_schema(schema, format_checker=format_checker)
    _passed.add(key)


setattr(Draft202012Validator, "check_schema", classmethod(_check_schema_once))  # noqa: B010 (a class attribute set on purpose)


def pytest_configure(config: pytest.Config) -> None:
    """Before any worker starts (in the controller, or in a run without xdist): compile civis-mcp's modules once.
    The suite starts some forty Python processes (servers, the CLI, the workers) that each import them; where
    PYTHONDONTWRITEBYTECODE is set (CI images often set it) every one of them would compile them from source."""
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(Path(__file__).resolve().parents[1] / "civis_mcp", quiet=1)


# The test files that take longest on a worker (their own servers, browsers, processes), longest first, as measured
# on a 2-core machine (seconds of wall time each, in the whole suite): 11 6-7 6-7 6 6 6 6 5 4 4 4 4 3. ``--dist
# loadscope`` hands out whole files; started first, they run beside the many short files instead of after them, and
# the workers finish together. A file missing here (or a stale entry) only costs balance, never a test.
_LONGEST_FIRST = (
    "test_workflows.py",
    "test_profiles.py",
    "test_guard.py",
    "test_oauth_browser.py",
    "test_packaging.py",
    "test_effects.py",
    "test_hosted.py",
    "test_oauth_authserver.py",
    "test_hosted_bind.py",
    "test_first_hour.py",
    "test_oauth.py",
    "test_doctor.py",
    "test_import_kinds_postgres.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (``_LONGEST_FIRST``), the rest in their usual order; ``pyproject.toml`` tells xdist
    to keep this order (``--no-loadscope-reorder``) instead of sorting files by their number of tests."""
    rank = {name: index for index, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


# The garbage collector, tuned for a test process: it runs ten times less often from here on (collecting the suite
# imports the SDK, pydantic's models and civis-mcp, and each full collection walked all of them again: a third of
# the collection's CPU), and once the suite is collected what it built leaves its sight for good.
gc.freeze()
gc.set_threshold(7_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the suite is collected (in each worker): move everything imported so far out of the garbage collector's
    sight: some hundreds of thousands of long-lived objects that every full collection walked again, about a tenth
    of the suite's CPU. Garbage made by the tests is still collected."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown (and not called) when xdist is not loaded
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the machine has cores. Part of the suite's time is spent waiting (on the
    subprocesses, servers and browsers the tests start, and on sandbox runs in real time): on 2 cores a third worker
    fills those waits (44 s against 54 s with two); a fourth costs more (each worker imports and collects the suite)
    than it fills (50 s)."""
    return (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class Done:
    """How a ``civis-mcp`` command ended: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


Command = Callable[..., Done]


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Command:
    """``civis-mcp ARGS`` through its entry point (``civis_mcp.cli.main``) in this process, with no Civis variables
    but those given: for what a command checks and says before it serves (a Python start costs about a second; the
    process's own exit status is checked once, in tests/test_first_hour.py)."""

    def run(*args: str, env: dict[str, str] | None = None) -> Done:
        for key in list(os.environ):
            if key.startswith("CIVIS_"):
                monkeypatch.delenv(key)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        # An empty standard input, as a closed pipe gives it: `serve` over stdio starts, logs, reads the end and stops.
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO()))
        capsys.readouterr()
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            code = main(list(args))
        finally:  # a command sets up logging for its process: this process's goes back as it was
            root.handlers[:] = handlers
            root.setLevel(level)
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return run


def _forget_civis_lazy_modules() -> None:
    """civis-python registers six submodules that load on first touch (``civis.ml``, ``civis.workflows`` ...);
    hypothesis looks at every module in ``sys.modules`` for constants, which touches them: about a second of CPU per
    test process (``civis.workflows`` builds its schemas) and two deprecation warnings, for modules no test uses. They
    leave ``sys.modules`` but stay reachable as attributes of ``civis``, where they still load on first touch."""
    import civis

    for name in ("futures", "io", "ml", "parallel", "utils", "workflows"):
        module = sys.modules.get(f"civis.{name}")
        if module is not None and module is getattr(civis, name, None) and type(module).__name__ == "_LazyModule":
            del sys.modules[f"civis.{name}"]


_forget_civis_lazy_modules()
