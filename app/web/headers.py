"""Security headers on every response, and the safe way to send a file a user supplied (photos, documents, BPMN)."""
from __future__ import annotations

import unicodedata
from typing import IO
from urllib.parse import quote

from flask import Flask, Response, request, send_file

# Only our own scripts, styles, images and fonts. Inline styles stay allowed: bpmn-js and Bootstrap set style
# attributes; scripts never run inline (app/static/js/app.js attaches page behaviour by data attributes).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")
# A file from a user is never a page of ours: no script, no plugin, no same-origin rights even if opened directly.
FILE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


def init_app(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        return response


def user_file(response: Response, filename: str, inline: bool = False) -> Response:
    """Mark a response carrying a user's file: sandboxed, never sniffed, downloaded unless `inline` (images shown
    in our pages)."""
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    names = {"filename": filename}
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:  # RFC 6266: an ASCII fallback and the UTF-8 name
        names = {"filename": unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii") or "file",
                 "filename*": f"UTF-8''{quote(filename, safe='')}"}
    response.headers.set("Content-Disposition", "inline" if inline else "attachment", **names)
    return response


def send_stored(stream: IO[bytes], *, size: int, etag: str, mimetype: str, filename: str, inline: bool = False,
                max_age: int | None = None) -> Response:
    """Stream a user's file from the file store (app/storage.py) through the application, after the route has
    checked who may see it: the same answer for a local folder and an object store (no store links handed out).
    The ETag is the content's sha256, so a browser revalidates without fetching the bytes again."""
    response = send_file(stream, mimetype=mimetype, etag=etag, max_age=max_age, conditional=False)
    response.content_length = size
    # Conditional (ETag) and range requests (a resumed download) on the stream, with its known length.
    response = response.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    if response.status_code == 304:
        stream.close()
    if max_age is not None:
        response.headers["Cache-Control"] = f"private, max-age={max_age}"
    return user_file(response, filename, inline=inline)
