"""Helpers shared by the page handlers: rendering with the request's locale, cookies, client address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

from judging import __version__
from judging.auth import SESSION_COOKIE, SESSION_DAYS, Principal
from judging.i18n import LANG_COOKIE, Translator, pick_locale


def principal_of(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def translator_for(request: Request[Any, Any, Any]) -> Translator:
    p = principal_of(request)
    locale = pick_locale(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), p.locale if p else None,
        request.app.state.settings.default_locale,
    )
    return Translator(locale)


def points(value: Any, signed: bool = False, missing: str = "—") -> str:
    """A score as the staff pages and exports show it: two decimals rounded half up (as the screens round the
    panel's result, and as PRODUCT.md's aggregation rule says), e.g. 56.625 -> "56.63" where ``"%.2f"`` gives
    "56.62"; ``missing`` for None."""
    if value is None:
        return missing
    from live.results import display_score

    shown = display_score(float(value))
    return f"+{shown}" if signed and not shown.startswith("-") else shown


def percent(value: Any, missing: str = "—") -> str:
    """A probability (0..1) as the staff pages and the CSV export show it: a whole percentage rounded half up,
    e.g. 0.825 -> "83%" (``"%.0f%%"`` gives "82%"); ``missing`` for None. The .xlsx export keeps the number and
    formats it ``0%``."""
    if value is None:
        return missing
    from scoring import round_half_up

    return f"{float(round_half_up(100 * float(value), 0)):.0f}%"


def local_time(value: Any, tz: tzinfo, fmt: str) -> str:
    """A stored (UTC) time in the contest's zone, e.g. "2025-05-20 08:30"; "" for None. With ``value`` None and
    an empty ``fmt``: the zone's label for a column header ("UTC+08:00")."""
    if value is None:
        if fmt:
            return ""
        offset = datetime.now(tz).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(tz).strftime(fmt))


def render(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    t = translator_for(request)
    cookies = []
    lang = request.query_params.get("lang")
    if lang and lang == t.locale:
        cookies.append(Cookie(key=LANG_COOKIE, value=lang, max_age=365 * 86400, samesite="lax"))
    ctx = {
        "_": t.gettext, "t": t, "locale": t.locale, "user": principal_of(request), "version": __version__,
        "path": request.url.path, "settings": request.app.state.settings,
    }
    ctx.update(context)
    return Template(template_name=template, context=ctx, status_code=status_code, cookies=cookies)


def session_cookie(raw: str) -> Cookie:
    # Not "secure": venues run plain http on a LAN. HttpOnly + SameSite=Lax keep scripts and other sites out.
    return Cookie(key=SESSION_COOKIE, value=raw, httponly=True, samesite="lax", max_age=SESSION_DAYS * 86400,
                  path="/")


def clear_session_cookie() -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, expires=0, path="/", httponly=True, samesite="lax")


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""
