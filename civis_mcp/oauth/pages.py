"""The HTML pages a person's browser sees (``/connect`` and the sign-in server's): one document shape and one set of
headers that keep them out of caches, frames and other sites' reach."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

__all__ = ["PAGE_HEADERS", "page"]

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
}


def page(title: str, body: str, status: int = 200, *, site: str = "civis-mcp") -> HTMLResponse:
    """A page titled ``title`` (escaped here) around ``body`` (HTML the caller has escaped)."""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - {html.escape(site)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}"
        "input[type=password]{width:100%;padding:.4rem}button{margin-top:.8rem;padding:.4rem 1rem}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)
