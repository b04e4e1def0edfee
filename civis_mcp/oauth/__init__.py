"""The OAuth mode (``civis-mcp serve --http --auth oauth``): civis-mcp as an MCP OAuth 2.1 resource server.

- ``settings``: the identity provider (issuer), this server's resource URL, required scopes, the key store and the
  operator key ring.
- ``tokens``: access tokens (JWTs) checked with PyJWT against the issuer's JWKS: signature, ``iss``, ``aud`` (this
  resource, RFC 8707), expiry, scopes.
- ``keyring`` and ``keystore``: each person's Civis key sealed with AES-GCM under the operator key ring, kept by
  (issuer, subject) in SQLite.
- ``binding``: a tool call runs with the key bound to its token's person; without one it answers with a URL-mode
  elicitation to ``/connect``.
- ``connect``: the ``/connect`` page where a person signs in with the same identity provider and binds their key.
"""
