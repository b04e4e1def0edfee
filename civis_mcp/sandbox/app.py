"""The sandbox's HTTP app: one route per entry of OPERATIONS, plus ``/health``, ``/users/me`` and the upload URIs.

Each route is derived from its operation (verb, path template, request model, response model) and served by the
handler the operation names (``Operation.sandbox``), so no route is written twice and a missing handler fails at
start-up. Around the routes, one ASGI middleware (``Gate``) does, in order:

1. trailing-slash folding (``/imports/`` and ``/imports`` are the same route, as for civis-python, which strips it);
2. injected faults (latency, error statuses, hangs), decided per request by seeded dice — before anything else, as a
   load balancer would fail, so an injected error never changes state;
3. authentication: HTTP Basic with the API key as the user name (or ``Bearer <key>``); 401 with
   ``WWW-Authenticate: Basic realm="Civis API"`` otherwise. Each key belongs to one demo user (the main key to the
   configured caller, ``user_keys`` to others), and the request acts as that user with their own permissions;
   ``GET /users/me`` says who that is;
4. the rate limit: ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` on every answer, 429 with ``Retry-After`` past it;
5. on the way out, an injected malformed body (valid JSON cut in half) when the dice say so.

Requests are read in snake_case (what civis-python and civis-mcp send) or camelCase, validated with the operation's
own request model (400 naming the field and the problem), and answered in camelCase shaped by its response model.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civis_mcp import __version__
from civis_mcp.api.wire import camel_to_snake
from civis_mcp.jobs import BEYOND_IMPORTS
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import OPERATIONS, Operation
from civis_mcp.sandbox.config import SandboxConfig
from civis_mcp.sandbox.errors import ApiError, error_body
from civis_mcp.sandbox.handlers import Ctx, Reply, resolve
from civis_mcp.sandbox.handlers.files import UPLOAD_PREFIX
from civis_mcp.sandbox.state import RateWindow, Sandbox
from civis_mcp.sandbox.wire import shape, snake_body

__all__ = ["Gate", "create_app", "describe_validation_error", "route_path"]

logger = logging.getLogger("civis_mcp.sandbox")

WWW_AUTHENTICATE = 'Basic realm="Civis API"'
_MAX_PROBLEMS = 5


def route_path(op: Operation) -> str:
    """The Starlette path of an operation: its template without the trailing slash, path parameters as integers."""
    path = op.path.rstrip("/") or "/"
    for name in op.path_params:
        path = path.replace("{" + name + "}", "{" + name + ":int}")
    return path


def describe_validation_error(exc: ValidationError) -> str:
    """One sentence naming each bad field and what is wrong with it."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "body"
        kind = error["type"]
        if kind == "missing":
            problem = "is required"
        elif kind == "extra_forbidden":
            problem = "is not a parameter of this operation"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problem = message[:1].lower() + message[1:]
            value = error.get("input")
            if kind != "value_error" and not isinstance(value, dict | list):
                problem += f" (got {value!r})"
        problems.append(f"{where}: {problem}")
    more = len(problems) - _MAX_PROBLEMS
    text = "; ".join(problems[:_MAX_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
    return f"Invalid request: {text}."


def _query(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key.endswith("[]"):
            data.setdefault(camel_to_snake(key[:-2]), []).append(value)
        else:
            data[camel_to_snake(key)] = value
    return data


async def _params(op: Operation, request: Request) -> RequestModel:
    data: dict[str, Any]
    if op.sends_body:
        raw = await request.body()
        data = {}
        if raw.strip():
            try:
                decoded = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Invalid request: the body is not valid JSON.") from None
            if not isinstance(decoded, dict):
                raise ApiError(400, "Invalid request: the body must be a JSON object.")
            data = snake_body(decoded)
    else:
        data = _query(request)
    data.update(request.path_params)  # the path wins over a body or query value of the same name
    try:
        # Lax, unlike the tools: query and path values arrive as strings ("100"), as they do at Civis.
        return op.params.model_validate(data, strict=False)
    except ValidationError as exc:
        raise ApiError(400, describe_validation_error(exc)) from None


def _render(op: Operation, reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    body = reply.body
    if op.response is not None:
        model = op.response
        body = [shape(model, item) for item in body] if op.returns_list else shape(model, body)
    return JSONResponse(body, status_code=reply.status, headers=reply.headers)


def _endpoint(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    handler = resolve(op.sandbox)

    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        params = await _params(op, request)
        reply = handler(Ctx(sandbox, str(request.base_url), caller=_caller_of(request)), params)
        return _render(op, reply)

    endpoint.__name__ = op.tool_name
    return endpoint


_CALLER_SCOPE_KEY = "civis_sandbox_caller"


def _caller_of(request: Request) -> int | None:
    caller = request.scope.get(_CALLER_SCOPE_KEY)
    return caller if isinstance(caller, int) else None


async def _users_me(request: Request) -> Response:
    """Who the key belongs to, as Civis's ``GET /users/me`` answers (the fields civis-mcp and clients use)."""
    sandbox: Sandbox = request.app.state.sandbox
    user_id = _caller_of(request) or sandbox.caller_id
    user = sandbox.store.get_entry("user", user_id) or {}
    name = str(user.get("name") or user_id)
    username = str(user.get("username") or f"user{user_id}")
    email = user.get("email") or f"{username}@example.org"
    return JSONResponse(
        {"id": user_id, "name": name, "username": username, "initials": user.get("initials"), "email": email}
    )


async def _health(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    return JSONResponse({"status": "ok", "version": __version__, "callerId": sandbox.caller_id})


async def _upload(request: Request) -> Response:
    """The pre-signed upload URI of a file import: PUT the file, or POST it as multipart ``file``."""
    sandbox: Sandbox = request.app.state.sandbox
    file_id = int(request.path_params["file_id"])
    token = str(request.path_params["token"])
    stored = sandbox.store.get_file(file_id)
    owner = next(
        (
            job
            for job in sandbox.store.list_jobs("import")
            if (job.doc.get("file_import") or {}).get("file_id") == file_id
        ),
        None,
    )
    expected = (owner.doc.get("file_import") or {}).get("token", "") if owner else ""
    if stored is None or not expected or not hmac.compare_digest(str(expected), token):
        return Response("Access Denied: the upload URI is not valid.", status_code=403, media_type="text/plain")
    if request.method == "PUT":
        content = await request.body()
    else:
        async with request.form() as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return Response("The multipart upload needs a 'file' field.", status_code=400, media_type="text/plain")
            content = await upload.read()
    sandbox.store.set_file_content(file_id, content)
    return Response(status_code=200 if request.method == "PUT" else 204)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if status == 405:
        description = f"{request.method} is not allowed on {request.url.path}."
    else:
        description = f"No API route matches {request.method} {request.url.path}."
    return JSONResponse(error_body(status, description), status_code=status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _crash(request: Request, exc: Exception) -> Response:
    logger.error("sandbox error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body(500, f"Internal sandbox error: {type(exc).__name__}."), status_code=500)


class Gate:
    """Faults, authentication and the rate limit, around every route (see the module docstring)."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            path = scope["path"]
        if path == "/health":
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        faults = sandbox.config.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        decision = sandbox.faults.roll()
        if decision.error_status is not None:
            await _send_fault(send, decision.error_status)
            return
        if decision.hang:
            await self._hang(faults.hang_seconds)
            await _send_fault(send, 504)
            return
        if path.startswith(f"/{UPLOAD_PREFIX}/"):
            await self.app(scope, receive, send)  # a pre-signed URI: its token is the credential
            return
        caller = self._caller(scope)
        if caller is None:
            await _send_json(
                send,
                401,
                error_body(401, "The API key is missing, invalid or expired.", "unauthorized"),
                {"WWW-Authenticate": WWW_AUTHENTICATE, **_rate_headers(sandbox.rate.peek())},
            )
            return
        window = sandbox.rate.hit()
        if not window.allowed:
            description = f"Rate limit of {window.limit} requests a minute exceeded; retry in {window.retry_after} s."
            await _send_json(
                send,
                429,
                error_body(429, description),
                {"Retry-After": str(window.retry_after), **_rate_headers(window)},
            )
            return
        scope = {**scope, _CALLER_SCOPE_KEY: caller}
        headers = {**_rate_headers(window), "X-Request-Id": uuid.uuid4().hex}
        await self.app(scope, receive, _Outbound(send, headers, malformed=decision.malformed))

    def _caller(self, scope: Scope) -> int | None:
        """The user whose key the request carries; None when it carries none the sandbox knows."""
        config = self.sandbox.config
        for name, value in scope.get("headers", []):
            if name.lower() != b"authorization":
                continue
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            presented = ""
            if scheme.lower() == "basic":
                try:
                    presented = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
                except (binascii.Error, UnicodeDecodeError):
                    return None
            elif scheme.lower() == "bearer":
                presented = credentials.strip()
            if not presented:
                return None
            found: int | None = None
            for key, user_id in ((config.api_key, self.sandbox.caller_id), *config.user_keys):
                if hmac.compare_digest(presented.encode(), key.encode()):  # every key compared: no early exit
                    found = user_id if found is None else found
            return found
        return None

    async def _hang(self, seconds: float) -> None:
        """Sleep past any client timeout, but wake when the sandbox stops so shutdown stays quick."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline and not self.sandbox.stopping.is_set():
            await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))


def _rate_headers(window: RateWindow) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(window.limit), "X-RateLimit-Remaining": str(window.remaining)}


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await _send_raw(send, status, payload, "application/json", headers)


async def _send_raw(send: Send, status: int, payload: bytes, media_type: str, headers: dict[str, str]) -> None:
    raw_headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(key.lower().encode(), value.encode()) for key, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


_GATEWAY_PAGES = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}


async def _send_fault(send: Send, status: int) -> None:
    """An injected failure: gateway statuses answer with a load balancer's HTML page, others with Civis's JSON."""
    if status in _GATEWAY_PAGES:
        title = _GATEWAY_PAGES[status]
        page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        await _send_raw(send, status, (page + "</body>\r\n</html>\r\n").encode(), "text/html", {})
        return
    await _send_json(send, status, error_body(status, f"Injected fault: HTTP {status} (sandbox fault injection)."), {})


class _Outbound:
    """The ``send`` of a routed request: adds the rate-limit headers and, when asked, cuts a JSON body in half."""

    def __init__(self, send: Send, headers: dict[str, str], *, malformed: bool) -> None:
        self._send = send
        self._headers = [(key.lower().encode(), value.encode()) for key, value in headers.items()]
        self._malformed = malformed
        self._start: MutableMapping[str, Any] | None = None
        self._body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *self._headers]}
            if not self._malformed:
                await self._send(message)
                return
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body += message.get("body", b"")
        if message.get("more_body", False):
            return
        start, body = self._start, bytes(self._body)
        headers = list(start.get("headers", []))
        is_json = any(name == b"content-type" and b"json" in value for name, value in headers)
        if is_json and body:
            body = body[: max(1, len(body) // 2)]
            headers = [(name, value) for name, value in headers if name != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
        await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})


def create_app(
    config: SandboxConfig | None = None, *, sandbox: Sandbox | None = None, middleware: Sequence[Middleware] = ()
) -> Starlette:
    """The sandbox as an ASGI app. Opens (and on first use seeds) its state now; closes it when the app stops.

    ``middleware`` goes outside the ``Gate``, so it sees every request as it arrived (before faults, authentication
    and the rate limit): the hook for a test that records or inspects traffic.
    """
    state = sandbox or Sandbox(config or SandboxConfig())
    served = (*OPERATIONS, *BEYOND_IMPORTS)
    routes = [Route("/health", _health, methods=["GET"]), Route("/users/me", _users_me, methods=["GET"])]
    routes += [Route(route_path(op), _endpoint(op), methods=[op.verb], name=op.tool_name) for op in served]
    routes.append(Route(f"/{UPLOAD_PREFIX}/{{file_id:int}}/{{token}}", _upload, methods=["PUT", "POST"]))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        resumed = state.clock.resume()
        if resumed:
            logger.info("resumed %d run(s) left unfinished by the previous server", resumed)
        try:
            yield
        finally:
            state.stopping.set()
            await state.clock.aclose()
            state.close()

    app = Starlette(
        routes=routes,
        middleware=[*middleware, Middleware(Gate, sandbox=state)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _not_found,
            Exception: _crash,
        },
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app
