"""The hosted mode: ``civis-mcp serve --http`` for a team, every caller with their own Civis key.

- ``settings``: the bind address, authentication, allowed Host/Origin values, shared keys, Redis, limits.
- ``keys`` and ``auth``: the caller's key checked against ``GET /users/me`` (cached under a hash), 401 otherwise;
  the caller's Civis user becomes the request's principal (the SDK binds sessions and ``requestState`` to it).
- ``--auth oauth`` (OAuth access tokens, each person's key bound on ``/connect``) lives in ``civis_mcp.oauth`` and
  ends in the same per-request caller (``api.callers``).
- ``sessions``: older clients' sessions carry their replica's name, so nginx routes them back to it.
- ``calls``: a per-caller rate limit, one JSON log line and an OpenTelemetry duration per tool call.
- ``app``: the ASGI app (the SDK's streamable HTTP app inside those layers), ``/healthz``, ``/readyz``.
"""
