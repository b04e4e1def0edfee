"""Every use civis-mcp makes of the MCP SDK beyond its public surface, in one place, so an SDK upgrade fails here.

* **Tools from our own schemas** (``make_tool``): the SDK builds a ``Tool`` from a function; its published input and
  output schemas and its argument model are replaced by ours (the arguments reach the function untouched, and
  ``arguments.validate_arguments`` checks them with errors that list the valid names).
* **The server's tool table and listing** (``SeamServer``, ``LazyTools``): tools built on first use, and a
  ``tools/list`` answer that may depend on the request (profiles over HTTP).
* **Prompts looked up before the SDK renders them** (``SeamServer.prompt_named``).
* **Asking a human.** Two protocol generations ask differently: from 2026-07-28 a tool answers
  ``InputRequiredResult`` and the client calls again with the answers and the (SDK-sealed) ``requestState``; before
  that the server sends an ``elicitation/create`` request in the middle of the call. Both hand back the client's raw
  ``ElicitResult``, so the guard judges one kind of answer.

``tests/test_sdk_seam.py`` pins the SDK behaviour relied on here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from mcp.server import MCPServer
from mcp.server.context import ServerRequestContext
from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    ListToolsResult,
    PaginatedRequestParams,
    ToolAnnotations,
)
from mcp_types import Tool as MCPTool
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict

__all__ = [
    "LazyTools",
    "Prompt",
    "SeamServer",
    "Tool",
    "ask_in_call",
    "asks_in_rounds",
    "can_ask_human",
    "can_list_roots",
    "input_required",
    "list_roots_in_call",
    "make_tool",
    "request_header",
    "roots_of",
    "roots_required",
    "round_answers",
]

# First protocol revision whose tools/call carries elicitation inside an InputRequiredResult.
_ROUNDS_VERSION = "2026-07-28"


def can_ask_human(ctx: Context[Any, Any]) -> bool:
    """True when the client declared form elicitation (a bare ``elicitation: {}`` means form; url-only does not)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def asks_in_rounds(ctx: Context[Any, Any]) -> bool:
    """True when this call asks through ``InputRequiredResult`` rounds (protocol 2026-07-28 and later)."""
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, _ROUNDS_VERSION)


def input_required(key: str, message: str, schema: type[BaseModel], state: str) -> InputRequiredResult:
    """The round that asks ``message``; the SDK seals ``state`` before it leaves the server."""
    request = ElicitRequest(
        params=ElicitRequestFormParams(message=message, requested_schema=render_elicitation_schema(schema))
    )
    return InputRequiredResult(input_requests={key: request}, request_state=state)


def round_answers(ctx: Context[Any, Any]) -> tuple[str | None, dict[str, object]]:
    """The state this server minted for the previous round (verified by the SDK) and the client's answers."""
    return ctx.request_state, dict(ctx.input_responses or {})


def can_list_roots(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.roots is not None


def roots_required(key: str, state: str) -> InputRequiredResult:
    """The round that asks the client for its roots (``roots/list``)."""
    return InputRequiredResult(input_requests={key: ListRootsRequest()}, request_state=state)


def roots_of(answer: object) -> list[str] | None:
    """The root URIs in a ``roots/list`` answer; None when ``answer`` is not one."""
    return [str(root.uri) for root in answer.roots] if isinstance(answer, ListRootsResult) else None


async def list_roots_in_call(ctx: Context[Any, Any]) -> list[str]:
    """Ask for the client's roots mid-call (protocols before 2026-07-28)."""
    result = await ctx.request_context.session.list_roots()
    return [str(root.uri) for root in result.roots]


async def ask_in_call(ctx: Context[Any, Any], message: str, schema: type[BaseModel]) -> ElicitResult:
    """Ask mid-call (protocols before 2026-07-28); the raw answer, not validated against ``schema``."""
    return await ctx.request_context.session.elicit_form(
        message=message, requested_schema=render_elicitation_schema(schema), related_request_id=ctx.request_id
    )


def request_header(request_context: Any, name: str) -> str | None:
    """A header of the HTTP request that carried this message; None over stdio or when it is absent."""
    request = getattr(request_context, "request", None)
    headers = getattr(request, "headers", None)
    value = headers.get(name) if headers is not None else None
    return value if isinstance(value, str) else None


# --- tools from our own schemas -------------------------------------------------------------------------------------


class _RawArguments(ArgModelBase):
    """Hands the caller's arguments through untouched; ``arguments.validate_arguments`` does the real validation."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def make_tool(
    fn: Callable[..., Any],
    *,
    name: str,
    title: str,
    description: str,
    annotations: ToolAnnotations,
    input_schema: dict[str, Any],
    output_schema: dict[str, Any],
) -> Tool:
    """A tool whose function takes ``(arguments: dict, ctx)`` and whose published schemas are the ones given.

    The output schema is published, not re-validated by the SDK: every result is built from models validated already
    (or is one of our own), and checking it again cost as much as building it. Clients still check results by it."""
    tool = Tool.from_function(
        fn, name=name, title=title, description=description, annotations=annotations, structured_output=False
    )
    metadata = FuncMetadata(arg_model=_RawArguments, output_model=None, output_schema=output_schema)
    return tool.model_copy(update={"parameters": input_schema, "fn_metadata": metadata})


class LazyTools(ToolManager):
    """A tool table of the offered tools, each built by ``build`` when first asked for (``build`` keeps what it built:
    ``tools.build_named_tool`` builds each tool once per process); tools not offered do not exist."""

    def __init__(self, names: Iterable[str], build: Callable[[str], Tool]) -> None:
        super().__init__(warn_on_duplicate_tools=False)
        self._offered = frozenset(names)
        self._build = build

    def get_tool(self, name: str) -> Tool | None:
        return self._build(name) if name in self._offered else None

    def list_tools(self) -> list[Tool]:
        return [tool for name in sorted(self._offered) if (tool := self.get_tool(name)) is not None]


_Lifespan = TypeVar("_Lifespan")


class SeamServer(MCPServer[_Lifespan]):
    """An ``MCPServer`` with the three hooks civis-mcp needs: its own tool table, a ``tools/list`` answer built for
    the request (``listing_for``), and prompt look-ups before rendering."""

    def use_tools(self, tools: ToolManager) -> None:
        self._tool_manager = tools

    def listing_for(self, request_context: ServerRequestContext[Any]) -> list[MCPTool]:
        raise NotImplementedError

    async def _handle_list_tools(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        # The SDK's handler of tools/list (registered at construction): overridden because the public list_tools()
        # is given no request, and the listing depends on the request (its profile, over HTTP).
        return ListToolsResult(tools=self.listing_for(ctx))

    def prompt_named(self, name: str) -> Prompt | None:
        return self._prompt_manager.get_prompt(name)

    def prompt_names(self) -> list[str]:
        return [prompt.name for prompt in self._prompt_manager.list_prompts()]
