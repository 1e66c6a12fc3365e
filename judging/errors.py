"""Structured errors: every API error is ``{"error": {"code", "message", "detail"}}`` with a message a person
can act on. HTML page requests get a redirect to the login page (401), the page the error brings with it (a staff
form's refusal, in the viewer's language) or a plain error page.

:class:`Refusal` is a service's "no" (a venue code taken, a minute count out of range): a catalog message template
(the English msgid) and its parameters, so a page can say it in the viewer's language while ``str()`` and the
JSON API keep the English text."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import IntegrityError

from judging.db.engine import unavailable
from judging.observability import loggable_path

log = logging.getLogger("podium.errors")


class Msgid(str):
    """A :class:`Refusal` parameter that is itself a catalog message (a field name such as ``"year"``): translated
    along with the message, shown as is in English."""


class Refusal(ValueError):
    """A refused change, phrased as a catalog template with its parameters: ``Refusal("venue code {code} is
    taken", code="V1")``. ``str()`` is the English text; :meth:`text` translates it (parameters filled in after
    translation, :class:`Msgid` parameters translated too)."""

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params) if params else template)

    def text(self, gettext: Callable[..., str] | None = None) -> str:
        if gettext is None:
            return str(self)
        params = {k: gettext(v) if isinstance(v, Msgid) else v for k, v in self.params.items()}
        return gettext(self.template, **params)


# Renders the page an error brings with it (for a request that is not to ``/api/``).
ErrorPage = Callable[[Request[Any, Any, Any], "PodiumError"], Response[Any]]


class PodiumError(HTTPException):
    """A domain error with a stable machine-readable ``code``. ``page``, when given, renders the error for a page
    request (any path outside ``/api/``); API requests always get the JSON error object."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, status_code: int = 400,
                 detail: Any = None, headers: dict[str, str] | None = None, page: ErrorPage | None = None) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers, extra=detail)
        self.code = code or self.code
        self.message = message
        self.payload = detail
        self.page = page


def error_body(code: str, message: str, detail: Any = None, status_code: int = 400) -> dict[str, Any]:
    """Podium's error object under ``error``; ``status_code``/``detail``/``extra`` repeat it in the shape Litestar
    documents for its 400 responses in the OpenAPI schema, so generated clients and the fuzzer agree."""
    extra = detail if isinstance(detail, (dict, list)) else None
    return {"status_code": status_code, "detail": message, "extra": extra,
            "error": {"code": code, "message": message, "detail": detail}}


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


_CODES = {400: "invalid_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 429: "rate_limited"}


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) and _wants_html(request):
        return Redirect(path=f"/login?next={request.url.path}")
    if isinstance(exc, PodiumError) and exc.page is not None and not request.url.path.startswith("/api/"):
        return exc.page(request, exc)
    if isinstance(exc, PodiumError):
        body = error_body(exc.code, exc.message, exc.payload, status)
    elif isinstance(exc, ValidationException):
        body = error_body("invalid_request", "The request is not valid: " + _validation_summary(exc.extra),
                          exc.extra, status)
    else:
        code = _CODES.get(status, "error")
        message = exc.detail or code
        if isinstance(exc, PermissionDeniedException) and message == "Forbidden":
            message = "You are not allowed to do this with the account you are logged in with."
        body = error_body(code, message, status_code=status)
    if _wants_html(request):
        html = (f"<!doctype html><meta charset=utf-8><title>{status}</title>"
                f"<body style='font-family:sans-serif;padding:2em'><h1>{status}</h1>"
                f"<p>{_escape(body['error']['message'])}</p><p><a href='/'>Podium</a></p>")
        return Response(html, status_code=status, media_type=MediaType.HTML, headers=exc.headers or {})
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=exc.headers or {})


def out_of_range_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A number in the request that the database cannot hold (e.g. an id beyond 64 bits) is a bad request."""
    return Response(
        error_body("invalid_request", "A number in the request is out of range.", status_code=400),
        status_code=400, media_type=MediaType.JSON,
    )


def busy_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """No database connection came free in time (the server is saturated, not broken), or the connection was
    found dead (the database restarted). 503 with Retry-After tells the tablet's outbox to try again (the same
    client id makes the retry safe)."""
    log.warning("database unavailable on %s %s: %s", request.method, loggable_path(request.url.path),
                type(exc).__name__)
    return Response(
        error_body("busy", "The server is busy; your request was not processed. It will be retried.",
                   status_code=503),
        status_code=503, media_type=MediaType.JSON, headers={"Retry-After": "2"},
    )


def database_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Driver errors about a value the column cannot hold are the request's fault (asyncpg reports an id beyond
    int32 as a generic DBAPIError); anything else is a server error."""
    if unavailable(exc):
        # A pooled connection was found dead (the database restarted): the pool is renewed, the request was not
        # processed; the client's retry gets a fresh connection.
        return busy_handler(request, exc)
    text = str(getattr(exc, "orig", exc)).lower()
    if "out of" in text and "range" in text:
        return out_of_range_handler(request, exc)
    if isinstance(exc, IntegrityError) and "foreign key" in text:
        # What the request refers to was deleted meanwhile (e.g. a venue deleted in set-up while an import or an
        # assignment naming it was in flight, on PostgreSQL): the transaction rolled back; nothing changed.
        return Response(
            error_body("conflict", "Something this request refers to was changed or deleted meanwhile; nothing was "
                       "saved. Reload the page and try again.", status_code=409),
            status_code=409, media_type=MediaType.JSON,
        )
    if "0x00" in text or "null character" in text:
        # PostgreSQL refuses NUL in text (SQLite stores it): the request's fault, and the transaction rolled back.
        return Response(
            error_body("invalid_request", "Text in the request contains a NUL character (\\u0000); remove it.",
                       status_code=400),
            status_code=400, media_type=MediaType.JSON,
        )
    return internal_error_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, loggable_path(request.url.path), exc_info=exc)
    return Response(
        error_body("internal_error", "Something went wrong on the server; it has been logged. Try again.",
                   status_code=HTTP_500_INTERNAL_SERVER_ERROR),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


def _validation_summary(extra: Any) -> str:
    if isinstance(extra, list) and extra:
        parts = []
        for item in extra[:5]:
            if isinstance(item, dict):
                key = item.get("key") or item.get("source") or ""
                parts.append(f"{key}: {item.get('message', '')}".strip(": "))
        if parts:
            return "; ".join(parts)
    return "check the fields and their types"


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
