"""The handler of every operation, keyed by civis-python method name (importing the modules registers them)."""

from civis_mcp.sandbox.handlers import csv, files, imports, jobs, runs, sharing
from civis_mcp.sandbox.handlers.base import HANDLERS, Ctx, Handler, Reply

__all__ = ["HANDLERS", "Ctx", "Handler", "Reply", "csv", "files", "imports", "jobs", "runs", "sharing"]
