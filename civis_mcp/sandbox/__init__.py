"""A local stand-in for the Civis Imports API: the same routes, shapes, errors and headers, with state in SQLite,
runs that really run (CSV imports load into a SQLite "warehouse"), demo data, and optional injected faults.

Public entry points:

* ``running_sandbox(SandboxConfig(...))``: serve in a background thread (tests, the demo, ``serve --sandbox``).
* ``in_process_sandbox(SandboxConfig(...))``: the same on the caller's event loop, reached through an httpx ASGI
  transport (tests); ``SandboxConfig(manual_clock=True)`` moves runs only when the test says so.
* ``add_arguments(parser)`` + ``run(args)``, or ``main_sandbox(argv)``: the ``civis-mcp sandbox`` command.
* ``create_app(config)``: the Starlette app itself.
* ``civis_mcp.sandbox.demo``: the IDs of the demo objects (``DEMO_FAILED_CSV_IMPORT_ID`` ...).
"""

from civis_mcp.sandbox.app import create_app
from civis_mcp.sandbox.config import DEFAULT_API_KEY, FaultConfig, SandboxConfig
from civis_mcp.sandbox.server import (
    RunningSandbox,
    add_arguments,
    in_process_sandbox,
    main_sandbox,
    run,
    running_sandbox,
)

__all__ = [
    "DEFAULT_API_KEY",
    "FaultConfig",
    "RunningSandbox",
    "SandboxConfig",
    "add_arguments",
    "create_app",
    "in_process_sandbox",
    "main_sandbox",
    "run",
    "running_sandbox",
]
