"""Malformed requests get a clear structured error, never a traceback or a 500."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/api/auth/login", {"content": b"{not json", "headers": {"content-type": "application/json"}},
         400, "invalid_request"),
        ("post", "/api/auth/login", {"json": {"username": 5}}, 400, "invalid_request"),
        ("post", "/api/auth/login", {"json": {"username": "a", "password": "b", "extra": 1}}, 400,
         "invalid_request"),
        ("post", "/api/auth/login", {"json": {"username": "", "password": "x"}}, 400, "invalid_request"),
        ("get", "/api/no-such-thing", {}, 404, "not_found"),
        ("delete", "/healthz", {}, 405, "method_not_allowed"),
        ("get", "/api/staff/audit?limit=abc", {}, 401, "not_authenticated"),
        ("get", "/lang/xx", {}, 404, "not_found"),
        ("get", "/j/" + "x" * 5000, {}, 404, None),
    ],
)
def test_structured_errors(client: TestClient[Any], method: str, path: str, kwargs: dict[str, Any], status: int,
                           code: str | None) -> None:
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    if code:
        body = r.json()
        assert body["error"]["code"] == code and body["error"]["message"]


def test_validation_message_names_the_field(client: TestClient[Any]) -> None:
    r = client.post("/api/auth/login", json={"username": "a"})
    assert r.status_code == 400
    assert "password" in r.json()["error"]["message"]


def test_health_and_openapi(client: TestClient[Any]) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/api/auth/login" in schema.json()["paths"]


def test_request_id_echoed_and_logged(client: TestClient[Any], caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="podium.access")
    r = client.get("/healthz", headers={"X-Request-ID": "venue3-tablet7-42"})
    assert r.headers["x-request-id"] == "venue3-tablet7-42"
    fresh = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert fresh.headers["x-request-id"] != "bad id with spaces" and len(fresh.headers["x-request-id"]) == 16
    records = [r for r in caplog.records if r.name == "podium.access"]
    assert any(getattr(r, "podium", {}).get("request_id") == "venue3-tablet7-42" and r.podium["status"] == 200
               for r in records)


def test_login_and_setup_tokens_never_reach_the_log(client: TestClient[Any], settings: Any, demo: int,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A login link never expires: anyone who can read the access log must not be able to log in with it."""
    import logging

    from tests.helpers import account_with_role, login_link

    caplog.set_level(logging.INFO, logger="podium")
    token = login_link(settings, account_with_role(settings, "judge"))
    assert client.get(f"/j/{token}", follow_redirects=False).status_code in (302, 303)
    assert client.get("/setup/not-a-real-setup-token-0123456789").status_code == 404
    paths = [r.podium["path"] for r in caplog.records if r.name == "podium.access"]
    assert "/j/<token>" in paths and "/setup/<token>" in paths
    ours = "\n".join(f"{r.getMessage()} {getattr(r, 'podium', '')}" for r in caplog.records
                     if r.name.startswith("podium"))  # (the test client's own httpx log shows its URLs)
    assert token not in ours and "not-a-real-setup-token" not in ours


def test_ids_beyond_database_range_are_bad_requests(client: TestClient[Any], settings: Any) -> None:
    from tests.helpers import make_staff, staff_login

    make_staff(settings)
    staff_login(client)
    r = client.post("/api/staff/accounts/4134622086122013860199698890460495872/login-link")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


def _exhaust_pool(db: Any, *, reads: bool = True, auth: bool = True) -> None:
    """Make the database pool look exhausted: every checkout raises SQLAlchemy's pool TimeoutError."""
    from contextlib import asynccontextmanager

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @asynccontextmanager
    async def exhausted():  # type: ignore[no-untyped-def]
        raise PoolTimeout("QueuePool limit reached")
        yield

    async def no_connection(*_args: Any, **_kw: Any) -> Any:
        raise PoolTimeout("QueuePool limit reached")

    if reads:
        db.read = exhausted
    if auth:
        db.select_rows = no_connection  # authentication's one-statement read


def test_saturated_database_pool_is_503_with_retry_after(client: TestClient[Any], app: Any) -> None:
    _exhaust_pool(app.state.db)
    r = client.get("/api/judge/state", headers={"Authorization": "Bearer something"})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json()["error"]["code"] == "busy"


def test_saturated_database_pool_closes_a_feed_with_try_again_later(client: TestClient[Any], app: Any) -> None:
    """A websocket cannot get a 503: it is closed with 1013 (Try Again Later), never 4500; screens reconnect."""
    from litestar.exceptions import WebSocketDisconnect

    from live.protocol import CLOSE_TRY_AGAIN

    _exhaust_pool(app.state.db, auth=False)  # the feed's own reads
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws/board/1") as ws:
        ws.receive_text()
    assert closed.value.code == CLOSE_TRY_AGAIN
    _exhaust_pool(app.state.db)  # authentication, before the handler runs
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(
            "/ws/venue/1", headers={"Authorization": "Bearer something"}) as ws:
        ws.receive_text()
    assert closed.value.code == CLOSE_TRY_AGAIN


def test_nul_character_in_text_is_a_bad_request_on_every_backend(client: TestClient[Any]) -> None:
    """Found by the fuzzer on PostgreSQL, which refuses NUL in text: a 400, never a 500."""
    r = client.post("/api/auth/login", json={"username": "\u0000", "password": "x"})
    assert r.status_code in (400, 401), r.text
    assert r.json()["error"]["code"] in ("invalid_request", "bad_credentials")


def test_a_foreign_key_violation_is_a_conflict_not_a_500(settings: Any) -> None:
    """A row the request refers to was deleted meanwhile (a venue deleted in set-up while an assignment naming it was
    in flight, on PostgreSQL): the database refuses the foreign key; the answer is 409, never a 500."""
    from litestar import Litestar, get
    from litestar.testing import TestClient as Client
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from judging.errors import database_error_handler
    from tests.conftest import run_db

    with pytest.raises(IntegrityError) as refused:  # the real error of this backend
        run_db(settings, lambda s: s.execute(text(
            "INSERT INTO panel_member (venue_id, person_id, is_chief) VALUES (987654, 987654, false)")))

    @get("/raise")
    async def raising() -> None:
        raise refused.value

    with Client(Litestar([raising], exception_handlers={DBAPIError: database_error_handler})) as c:
        r = c.get("/raise")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict"
