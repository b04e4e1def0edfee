"""Registry-ready packaging: ``server.json`` (the MCP registry's description of the server) is valid, agrees with
``pyproject.toml``, the README's ``mcp-name`` marker and the settings the code reads; and the one-line ``uvx`` run
works from this checkout.

The schema below states the rules of the registry's server.json format (2025-12-11) that this file relies on, and
the registry's own checks: the name is ``namespace/name`` and matches the README marker PyPI shows (ownership), the
description is at most 100 characters, versions are exact, every package names its registry, transport and
runtime.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from civis_mcp import __version__
from civis_mcp.catalog import load_catalog
from civis_mcp.config import default_text, env_name, environment_settings

ROOT = Path(__file__).resolve().parents[1]
SERVER_JSON = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")

_EXACT_VERSION = {"type": "string", "minLength": 1, "pattern": r"^(?!latest$)[0-9A-Za-z.+-]+$"}
_INPUT = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
        "description": {"type": "string", "minLength": 1},
        "isRequired": {"type": "boolean"},
        "isSecret": {"type": "boolean"},
        "format": {"enum": ["string", "number", "boolean", "filepath"]},
        "default": {"type": "string"},
    },
    "additionalProperties": False,
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["$schema", "name", "description", "version", "packages"],
    "properties": {
        "$schema": {"const": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"},
        "name": {"type": "string", "pattern": r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$", "minLength": 3, "maxLength": 200},
        "title": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": {"type": "string", "minLength": 1, "maxLength": 100},
        "version": _EXACT_VERSION,
        "packages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["registryType", "identifier", "version", "transport"],
                "properties": {
                    "registryType": {"const": "pypi"},
                    "registryBaseUrl": {"const": "https://pypi.org"},
                    "identifier": {"type": "string", "minLength": 1},
                    "version": _EXACT_VERSION,
                    "runtimeHint": {"enum": ["uvx"]},
                    "transport": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"const": "stdio"}},
                        "additionalProperties": False,
                    },
                    "packageArguments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "value"],
                            "properties": {"type": {"const": "positional"}, "value": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    },
                    "environmentVariables": {"type": "array", "items": _INPUT},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def test_server_json_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(SERVER_JSON), key=str)
    assert [f"{list(error.absolute_path)}: {error.message}" for error in errors] == []


def test_the_schema_refuses_what_the_registry_refuses() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    package = SERVER_JSON["packages"][0]
    for broken in (
        {**SERVER_JSON, "name": "civis-mcp"},  # no namespace
        {**SERVER_JSON, "description": "x" * 101},
        {**SERVER_JSON, "version": "latest"},
        {**SERVER_JSON, "packages": [{**package, "version": "^0.1"}]},
        {**SERVER_JSON, "packages": [{**package, "transport": {"type": "carrier-pigeon"}}]},
    ):
        assert not validator.is_valid(broken), broken


def test_server_json_agrees_with_pyproject_and_the_readme_marker() -> None:
    project = PYPROJECT["project"]
    (package,) = SERVER_JSON["packages"]
    assert SERVER_JSON["version"] == package["version"] == project["version"] == __version__
    assert package["identifier"] == project["name"]
    assert project["readme"] == "README.md"  # the marker must be in the README PyPI shows
    markers = re.findall(r"<!-- mcp-name: (\S+) -->", README)
    assert markers == [SERVER_JSON["name"]]
    assert package["packageArguments"] == [{"type": "positional", "value": "serve"}]
    assert "civis-mcp" in project["scripts"]  # what uvx runs: `uvx civis-mcp serve`


def test_server_json_lists_exactly_the_settings_the_code_reads_and_marks_the_key_secret() -> None:
    read = {env_name(name): name for name in environment_settings()}
    (package,) = SERVER_JSON["packages"]
    listed = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert set(listed) == set(read)
    assert {name for name, variable in listed.items() if variable.get("isSecret")} == {"CIVIS_API_KEY"}
    assert {name for name, variable in listed.items() if variable.get("isRequired")} == {"CIVIS_API_KEY"}
    for name, variable in listed.items():
        assert variable.get("default", "") == default_text(read[name]), f"{name}'s default is not the code's"
        assert f"`{name}`" in README, f"{name} is not documented in the README"


@pytest.mark.skipif(shutil.which("uvx") is None, reason="uv is not installed (pip install uv)")
def test_the_one_line_uvx_run_works_from_this_checkout(tmp_path: Path) -> None:
    # A copy of what the package is built from, so that the build leaves nothing in the checkout.
    source = tmp_path / "civis-mcp"
    shutil.copytree(ROOT / "civis_mcp", source / "civis_mcp", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    uvx = shutil.which("uvx")
    assert uvx is not None
    version = subprocess.run(
        [uvx, "--from", str(source), "civis-mcp", "--version"], capture_output=True, text=True, timeout=600
    )
    assert version.returncode == 0, version.stderr[-2000:]
    assert version.stdout.strip() == f"civis-mcp {__version__}"
    tools = subprocess.run(
        [uvx, "--from", str(source), "civis-mcp", "tools"], capture_output=True, text=True, timeout=300
    )
    assert tools.returncode == 0, tools.stderr[-2000:]
    assert len(tools.stdout.splitlines()) == len(load_catalog())  # the catalog was packaged with the code
