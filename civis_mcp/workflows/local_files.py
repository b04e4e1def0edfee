"""Which local files ``imports_load_file`` may read: only inside the directories the person allowed.

The allowed directories are the client's MCP roots (``roots/list``) and the operator's ``--allow-files`` directories.
A path is checked before anything is read from it:

* its text must say plainly what it is: no control or invisible characters, no look-alikes of ``/``, ``\\`` or ``.``
  (a fullwidth solidus or a division slash reads as a separator to a person, not to the file system);
* its real location (every ``..`` and symlink resolved) must be inside an allowed directory; the comparison is by path
  components, so ``/data/project-evil`` is not inside ``/data/project``;
* it must be a regular file (not a FIFO or a device, whose reads can hang or never end), of an allowed type and size.

The check and the reads are separate system calls, so every open re-checks that the file opened is the one that was
checked (device, inode, size and modification time) and opens without following a symlink at the last component.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from civis_mcp.untrusted import one_line, sanitize
from civis_mcp.workflows.runs import WorkflowError

__all__ = [
    "AllowedDirectories",
    "FileLimits",
    "LocalFile",
    "allowed_directories",
    "check_path_text",
    "find_file",
    "open_checked",
]

# Characters that look like path syntax but are not, to a person reading the call. NFKC folds some of them (the
# fullwidth forms) into the real thing; these are the ones it leaves alone.
# Letters of real languages that merely contain a dot-like mark (the Catalan middle dot, the ideographic full stop)
# are left alone: they do not read as path syntax.
_LOOK_ALIKES = frozenset(
    "\u2215\u2044\u29f8\u29f9\u2216\ufe68\u2571\u2572\u27cb\u27cd\u1735\u2cc6\u3033"  # slashes
    "\u2024\u2025\u2026\u2027\ufe52\u0701\u0702\ua60e"  # dots
)
_PATH_SYNTAX = frozenset("/\\.")


@dataclass(frozen=True)
class AllowedDirectories:
    """The directories a path may resolve into (real paths), and why any offered root was not used."""

    directories: tuple[Path, ...]
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    types: frozenset[str]
    """File name endings without the first dot, lower case: ``csv``, ``csv.gz``."""


@dataclass(frozen=True)
class LocalFile:
    """A checked file: where it really is, and what identifies it, so a later open can tell it is the same file."""

    path: Path
    size: int
    device: int
    inode: int
    modified_ns: int

    @property
    def compressed(self) -> bool:
        return self.path.name.lower().endswith(".gz")


def _root_directory(uri: str) -> tuple[Path | None, str | None]:
    """The real directory of one ``file://`` root, or why it cannot be used."""
    shown = one_line(uri, 120)
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        return None, f"{shown}: not a file:// root"
    if parts.netloc not in ("", "localhost"):
        return None, f"{shown}: a file root on another host"
    decoded = unquote(parts.path, errors="strict")
    if "\x00" in decoded or not decoded.startswith("/"):
        return None, f"{shown}: not an absolute local path"
    if ".." in decoded.split("/"):
        return None, f"{shown}: the root itself contains '..'"
    real = Path(os.path.realpath(decoded))
    if not real.is_dir():
        return None, f"{shown}: not an existing directory"
    return real, None


def allowed_directories(root_uris: Iterable[str], operator_directories: Sequence[Path]) -> AllowedDirectories:
    """The client's roots and the operator's directories, as real paths; roots that cannot be used are reported."""
    found: list[Path] = []
    ignored: list[str] = []
    for uri in root_uris:
        try:
            directory, problem = _root_directory(uri)
        except UnicodeDecodeError:
            directory, problem = None, f"{one_line(uri, 120)}: its percent-encoding is not UTF-8"
        if directory is None:
            ignored.append(problem or one_line(uri, 120))
        elif directory not in found:
            found.append(directory)
    for configured in operator_directories:
        real = Path(os.path.realpath(configured))
        if real.is_dir() and real not in found:
            found.append(real)
        elif not real.is_dir():
            ignored.append(f"--allow-files {configured}: not an existing directory")
    return AllowedDirectories(tuple(found), tuple(ignored))


def check_path_text(text: str) -> None:
    """Refuse a path whose text is not what it looks like; nothing is read."""
    if not text.strip():
        raise WorkflowError("path is empty; give the file's path, relative to the workspace or absolute inside it.")
    if "\x00" in text or sanitize(text) != text or any(unicodedata.category(char) == "Cc" for char in text):
        raise WorkflowError(
            "path contains control or invisible characters, so it is not what it looks like. Nothing was read; "
            "type the path plainly."
        )
    suspicious = sorted(
        {
            f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"
            for char in text
            if char in _LOOK_ALIKES
            or (char not in _PATH_SYNTAX and any(c in _PATH_SYNTAX for c in unicodedata.normalize("NFKC", char)))
        }
    )
    if suspicious:
        raise WorkflowError(
            f"path contains character(s) that look like path separators or dots but are not: {', '.join(suspicious)}. "
            "Nothing was read; use plain '/' and '.' in the path."
        )


def _inside(real: Path, directories: Sequence[Path]) -> bool:
    return any(real == directory or real.is_relative_to(directory) for directory in directories)


def _refuse_outside(text: str, allowed: AllowedDirectories) -> WorkflowError:
    # The same words whether or not something exists there: the refusal must not probe the disk outside the roots.
    shown = ", ".join(str(directory) for directory in allowed.directories)
    return WorkflowError(
        f"path {one_line(text, 200)!r} is outside the directories this client allows ({shown}). Nothing was read. "
        "Use a file inside one of them (paths are resolved through '..' and symlinks), or move or copy the file "
        "there."
    )


def _type_allowed(name: str, types: frozenset[str]) -> bool:
    lower = name.lower()
    return any(lower.endswith("." + ending) for ending in types)


def find_file(text: str, allowed: AllowedDirectories, limits: FileLimits) -> LocalFile:
    """The regular file ``text`` names inside ``allowed``; a relative path is looked up in each directory in turn."""
    check_path_text(text)
    given = Path(text).expanduser()
    candidates = [given] if given.is_absolute() else [directory / given for directory in allowed.directories]
    reals = [Path(os.path.realpath(candidate)) for candidate in candidates]
    inside = [real for real in reals if _inside(real, allowed.directories)]
    if not inside:
        raise _refuse_outside(text, allowed)
    real = next((path for path in inside if path.exists()), None)
    if real is None:
        raise WorkflowError(
            f"no file {one_line(text, 200)!r} in the allowed directories "
            f"({', '.join(str(d) for d in allowed.directories)}). Nothing was read; check the name and its folder."
        )
    if not _type_allowed(real.name, limits.types):
        raise WorkflowError(
            f"{real.name!r} is not a type this server loads (allowed endings: {', '.join(sorted(limits.types))}). "
            "Nothing was read. An operator can change the list with --file-types (CIVIS_MCP_FILE_TYPES)."
        )
    info = os.stat(real)
    if not stat.S_ISREG(info.st_mode):
        raise WorkflowError(f"{real.name!r} is not a regular file. Nothing was read.")
    if info.st_size == 0:
        raise WorkflowError(f"{real.name!r} is empty. Nothing was read or sent.")
    if info.st_size > limits.max_bytes:
        raise WorkflowError(
            f"{real.name!r} is {info.st_size:,} bytes, over this server's limit of {limits.max_bytes:,}. Nothing was "
            "read. An operator can raise it with --file-max-bytes (CIVIS_MCP_FILE_MAX_BYTES)."
        )
    return LocalFile(real, info.st_size, info.st_dev, info.st_ino, info.st_mtime_ns)


def open_checked(file: LocalFile) -> int:
    """A read-only descriptor of ``file``, after checking it is still the very file that was checked."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(file.path, flags)
    except OSError as exc:
        raise WorkflowError(f"{file.path.name!r} could not be opened ({exc.strerror}).") from None
    info = os.fstat(descriptor)
    same = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) == (
        file.device,
        file.inode,
        file.size,
        file.modified_ns,
    )
    if not stat.S_ISREG(info.st_mode) or not same:
        os.close(descriptor)
        raise WorkflowError(
            f"{file.path.name!r} changed after it was checked (replaced, or written to). Nothing more was read; "
            "call again once the file is complete."
        )
    if hasattr(os, "set_blocking"):
        os.set_blocking(descriptor, True)
    return descriptor
