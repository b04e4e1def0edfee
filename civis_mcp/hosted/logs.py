"""Log lines of a hosted server: one JSON object a line on stderr, every line redacted of every key it knows."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter"]

_QUERY = re.compile(r'("[A-Z]+ [^?\s"]*)\?[^\s"]*')


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "replica", "message"}``, plus the fields of a tool-call line (``hosted.calls``)."""

    def __init__(self, replica: str, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._replica = replica
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == "uvicorn.access":
            # A query string may carry a secret: a one-time /connect link, an OAuth code, a token sent where none
            # is accepted. The path is enough to read an access line.
            message = _QUERY.sub(r"\1?(query not logged)", message)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "replica": self._replica,
            "message": message,
        }
        call = getattr(record, "call", None)
        if isinstance(call, dict):
            line.update(call)
        if record.exc_text or record.exc_info:
            line["error"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        # The redacting filter saw the message; a traceback is formatted only here, so the whole line passes again.
        return self._redact(json.dumps(line, ensure_ascii=False))
