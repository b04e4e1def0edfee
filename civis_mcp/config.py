"""Settings, read once from the environment (and overridden by command-line flags in ``cli``).

``Settings`` is the one place each setting is declared: its environment variable (``CIVIS_MCP_`` and its name in
capitals, or civis-python's own ``CIVIS_API_KEY`` / ``CIVIS_API_ENDPOINT``), its type and how its text is read (the
``Annotated`` kinds below), its default, its bounds and its unit. The errors, ``--help`` defaults, the README's table
and the registry's ``server.json`` are derived from it (and tests hold the last two to it).

Only ``Settings.from_env`` reads variables, from the mapping it is given (the process environment by default); a
``Settings(...)`` built from keywords reads nothing, and no ``.env`` file is ever read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import AllowInfNan, BeforeValidator, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from civis_mcp.api.errors import ConfigurationError

__all__ = [
    "DEFAULT_API_ENDPOINT",
    "DEFAULT_FILE_MAX_BYTES",
    "DEFAULT_FILE_TYPES",
    "MIN_RESULT_BUDGET",
    "Settings",
    "default_text",
    "env_name",
    "environment_settings",
    "settings_help",
    "settings_table",
    "split_file_types",
    "split_names",
    "split_paths",
]

DEFAULT_API_ENDPOINT = "https://api.civisanalytics.com/"
DEFAULT_FILE_MAX_BYTES = 1024**3
DEFAULT_FILE_TYPES = frozenset({"csv", "tsv", "txt", "psv", "csv.gz", "tsv.gz", "txt.gz", "psv.gz"})
"""File name endings ``imports_load_file`` reads by default (compared in lower case)."""
MIN_RESULT_BUDGET = 2_000
"""Below this, a result cannot keep even its identifying fields and the note saying what was cut."""
LONGEST_WAIT_PAUSE = 10.0
"""Seconds: the longest pause of ``imports_wait_for_run`` between two reads of a run."""


def split_names(raw: str) -> frozenset[str] | None:
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return names or None


def split_paths(raw: str) -> tuple[Path, ...]:
    """Directories separated by the platform's path separator (``:`` on Unix), as in ``PATH``; ``~`` is expanded."""
    return tuple(Path(part.strip()).expanduser() for part in raw.split(os.pathsep) if part.strip())


def split_file_types(raw: str) -> frozenset[str] | None:
    """Comma-separated file name endings such as ``csv,tsv.gz`` (a leading dot is allowed); None when empty."""
    names = split_names(raw.lower())
    return frozenset(name.lstrip(".") for name in names) if names else None


# --- how each kind of setting is read and said --------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """What a setting's value is, in words and in its unit (``what``, for its error), and how its default is
    written (``show``)."""

    what: str

    def gloss(self, value: Any) -> str:
        """Words after a default that help a reader (``1073741824`` is ``1 GiB``); empty for most kinds."""
        return ""

    def show(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, frozenset):
            return ",".join(sorted(value))
        if isinstance(value, tuple):
            return os.pathsep.join(str(part) for part in value)
        return str(value)


@dataclass(frozen=True)
class _Bytes(Kind):
    def gloss(self, value: Any) -> str:
        for power, name in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
            if isinstance(value, int) and value >= 1024**power and value % 1024**power == 0:
                return f" ({value // 1024**power} {name})"
        return ""


@dataclass(frozen=True)
class Secret(Kind):
    """A value never shown: not in a repr, an error or a log."""


@dataclass(frozen=True)
class Internal:
    """Marks a setting the code sets for itself (from ``--http``, or for tests); no variable reads it."""


def _text(parse: Callable[[str], Any]) -> BeforeValidator:
    """Read a variable's (or flag's) text with ``parse``; values of the right type pass as they are."""
    return BeforeValidator(lambda value: parse(value.strip()) if isinstance(value, str) else value)


def _seconds(raw: str) -> float:
    return float(raw)  # a ValueError becomes the setting's one-line error in ``_explain``


def _digits(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit():  # no sign, no point, no exponent, no underscore
        raise ValueError(raw)
    return int(raw)


def _characters(raw: str) -> int:
    return int(raw.replace("_", ""))  # 30_000 reads as in Python


def _flag(raw: str) -> bool:
    word = raw.lower()
    if word in ("", "0", "false", "no", "off"):
        return False
    if word in ("1", "true", "yes", "on"):
        return True
    raise ValueError(raw)


def _names(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return split_names(value)
    return frozenset(str(name).strip() for name in value) if isinstance(value, Iterable) else value


def _file_types(value: Any) -> Any:
    if isinstance(value, str):
        return split_file_types(value)  # None (refused: at least one is needed) when there is none
    if isinstance(value, Iterable):
        return frozenset(str(name).strip().lower().lstrip(".") for name in value)
    return value


def _paths(value: Any) -> Any:
    if isinstance(value, str):
        return split_paths(value)
    if isinstance(value, Iterable):
        return tuple(Path(part).expanduser() for part in value)
    return value


Seconds = Annotated[float, _text(_seconds), AllowInfNan(False), Kind("a number of seconds")]
Count = Annotated[int, _text(_digits), Kind("a whole number")]
Characters = Annotated[int, _text(_characters), Kind("a whole number of characters")]
Bytes = Annotated[int, _text(_digits), _Bytes("a whole number of bytes")]
Flag = Annotated[bool, _text(_flag), Kind("one of true/false, 1/0, yes/no, on/off")]
Names = Annotated[frozenset[str] | None, BeforeValidator(_names), Kind("comma-separated names")]
FileTypes = Annotated[
    frozenset[str], BeforeValidator(_file_types), Kind("comma-separated file name endings such as csv,tsv.gz")
]
Directories = Annotated[
    tuple[Path, ...], BeforeValidator(_paths), Kind("directories separated by ':' (';' on Windows)")
]
URL = Annotated[str, _text(str), Kind("a URL")]


class Settings(BaseSettings):
    """Everything the server needs to talk to Civis. The key is a ``SecretStr`` so a repr never shows it.

    Frozen (and so hashable: the server keys its tool listings by settings); copy with ``model_copy(update=...)``."""

    model_config = SettingsConfigDict(
        env_prefix="CIVIS_MCP_",
        case_sensitive=True,
        frozen=True,
        extra="forbid",
        populate_by_name=True,  # CIVIS_API_KEY names the variable; ``api_key=`` still builds one in code
    )

    api_key: Annotated[SecretStr | None, Secret("an API key")] = Field(
        None,
        validation_alias="CIVIS_API_KEY",
        repr=False,
        description="your Civis API key (sent as the HTTP Basic user name, as civis-python does); without it every "
        "call answers with an error saying so",
    )
    api_endpoint: URL = Field(DEFAULT_API_ENDPOINT, validation_alias="CIVIS_API_ENDPOINT", description="API base URL")
    connect_timeout: Seconds = Field(10.0, gt=0, description="seconds to connect to Civis")
    read_timeout: Seconds = Field(60.0, gt=0, description="seconds to wait for Civis's answer")
    retry_budget: Seconds = Field(60.0, gt=0, description="seconds one call may spend waiting between retries")
    max_attempts: Annotated[int, Internal()] = Field(6, ge=1, description="tries of one request to Civis at most")
    call_deadline: Seconds = Field(
        60.0, gt=0, description="seconds one call to Civis may take in all, retries and waits included"
    )
    breaker_failures: Count = Field(
        5, ge=1, description="failed calls in a row (no answer, or HTTP 5xx) that pause calls to Civis"
    )
    breaker_cooldown: Seconds = Field(
        30.0, gt=0, description="seconds calls stay paused, each refused at once saying when to try again"
    )
    read_only: Flag = Field(
        False, description="offer only read tools; write and destructive tools are neither listed nor callable"
    )
    profile: Annotated[str, _text(str.lower), Kind("a profile name")] = Field(
        "full",
        description="tools to list: full (typed tools), read-only, or compact (workflow tools and a gateway that "
        "reaches every operation); checked at start-up",
    )
    toolsets: Names = Field(None, description="comma-separated toolsets to offer (unset: all)")
    tools: Names = Field(None, description="comma-separated tools to offer (unset: all)")
    allow_unconfirmed: Annotated[
        frozenset[str], BeforeValidator(lambda v: _names(v) or frozenset()), Kind("comma-separated tool names")
    ] = Field(frozenset(), description="comma-separated destructive tools that run without a human's confirmation")
    confirm_timeout: Seconds = Field(300.0, gt=0, description="seconds to wait for the human's confirmation")
    wait_first_poll: Seconds = Field(
        0.25,
        gt=0,
        le=LONGEST_WAIT_PAUSE,
        description="seconds imports_wait_for_run waits before it reads a run again; each pause after that is twice "
        f"as long, up to {LONGEST_WAIT_PAUSE:g} s",
    )
    audit_log: Annotated[Path | None, _text(Path), Kind("a file path")] = Field(
        None, description="file that gets a JSON line before and after every write and guarded call"
    )
    audit_required: Flag = Field(
        False, description="refuse a write whose audit intent line cannot be written (needs the audit log)"
    )
    result_budget: Characters = Field(
        20_000,
        ge=MIN_RESULT_BUDGET,
        description="JSON characters one tool result may take before it is cut (and says how to get the rest)",
    )
    transport: Annotated[Literal["stdio", "http"], Internal()] = Field(
        "stdio",
        description="how the server is reached; over HTTP the caller is remote, so no tool reads the server's disk",
    )
    allow_files: Directories = Field(
        (), description="directories imports_load_file may read besides the client's MCP roots"
    )
    file_max_bytes: Bytes = Field(DEFAULT_FILE_MAX_BYTES, ge=1, description="largest file imports_load_file uploads")
    file_types: FileTypes = Field(DEFAULT_FILE_TYPES, description="file name endings imports_load_file reads")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the keywords given: a ``Settings(...)`` in code is what it says (``from_env`` reads variables)."""
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **flags: Any) -> Settings:
        """The settings in ``environ`` (default: the process environment), with ``flags`` (the command line's, by
        field name) over them. A bad value is a ``ConfigurationError`` with one line per bad variable or flag."""
        given = _Environment(cls, os.environ if environ is None else environ)()
        try:
            return cls(**{**given, **flags})
        except ValidationError as error:
            raise ConfigurationError(_explain(error, given, flags)) from None


class _Environment(PydanticBaseSettingsSource):
    """The settings' variables in one mapping, each as its text; blank counts as unset. Nothing else is read."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raw = self._environ.get(env_name(field_name), "").strip()
        return raw or None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in environment_settings():
            value, key, _ = self.get_field_value(Settings.model_fields[name], name)
            if value is not None:
                values[key] = value
        return values


# --- what is derived from the declarations ----------------------------------------------------------------------


def environment_settings() -> list[str]:
    """The settings read from a variable, in declaration order."""
    return [name for name, field in Settings.model_fields.items() if not _marked(field, Internal)]


def env_name(name: str) -> str:
    """The variable a setting is read from: its alias (civis-python's names), else the prefix and its name."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else f"{Settings.model_config.get('env_prefix', '')}{name.upper()}"


def default_text(name: str) -> str:
    """A setting's default as its variable would spell it (``60``, ``false``, ``csv,csv.gz,...``); empty if none."""
    field = Settings.model_fields[name]
    if field.default is None or field.default in ((), frozenset()):
        return ""
    return _kind(field).show(field.default)


def _default_shown(name: str) -> str:
    """The default for a reader: as spelled, and glossed (``1073741824 (1 GiB)``)."""
    text = default_text(name)
    return text + _kind(Settings.model_fields[name]).gloss(Settings.model_fields[name].default) if text else ""


def settings_help(name: str, text: str) -> str:
    """A flag's ``--help``: ``text``, then the variable it overrides and the default (from the declaration)."""
    default = _default_shown(name)
    return f"{text} (env {env_name(name)}{f'; default {default}' if default else ''})"


def settings_table(flags: Collection[str] = ()) -> str:
    """The README's table of settings: variable (and its flag, when ``flags`` has one), meaning, default."""
    rows = ["| variable (flag) | meaning | takes | default |", "| --- | --- | --- | --- |"]
    for name in environment_settings():
        flag = f"--{name.replace('_', '-')}"
        variable = f"`{env_name(name)}`" + (f" (`{flag}`)" if flag in flags else "")
        default = _default_shown(name)
        meaning = Settings.model_fields[name].description
        rows.append(f"| {variable} | {meaning} | {accepted(name)} | {f'`{default}`' if default else ''} |")
    return "\n".join(rows)


def accepted(name: str) -> str:
    """What a setting accepts, in words: its kind and bounds in its unit (``a number of seconds greater than 0``)."""
    field = Settings.model_fields[name]
    low: object = None
    high: object = None
    strict = False
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Gt):
            low, strict = rule.gt, True
        elif isinstance(rule, annotated_types.Ge):
            low = rule.ge
        elif isinstance(rule, annotated_types.Le):
            high = rule.le
    if low is not None and high is not None:
        bounds = f" between {low} and {high}"
    elif low is not None:
        bounds = f" greater than {low}" if strict else f" of at least {low}"
    else:
        bounds = ""
    return _kind(field).what + bounds


def _explain(error: ValidationError, variables: Mapping[str, Any], flags: Mapping[str, Any]) -> str:
    """One line per bad setting: which flag (or variable) was given what, what it accepts and its default. The text
    given is quoted as it was read, never a secret's."""
    lines: dict[str, str] = {}
    named = {field.validation_alias: name for name, field in Settings.model_fields.items()}
    for problem in error.errors(include_input=False):
        where = str(problem["loc"][0]) if problem["loc"] else ""
        name = named.get(where, where)
        if name in lines:
            continue
        if name not in Settings.model_fields:
            lines[name] = f"{name!r} is not a setting."
            continue
        flag = name in flags
        source, given = (f"--{name.replace('_', '-')}", flags[name]) if flag else (env_name(name), variables[name])
        shown = "a value that is not shown" if isinstance(_kind(Settings.model_fields[name]), Secret) else repr(given)
        default = _default_shown(name)
        lines[name] = f"{source} must be {accepted(name)}{f' (default {default})' if default else ''}; got {shown}."
    return "\n".join(lines.values()) or "The settings are not valid."


def _kind(field: FieldInfo) -> Kind:
    return next((rule for rule in field.metadata if isinstance(rule, Kind)), Kind("a value"))


def _marked(field: FieldInfo, marker: type) -> bool:
    return any(isinstance(rule, marker) for rule in field.metadata)
