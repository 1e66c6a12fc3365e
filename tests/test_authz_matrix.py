"""The authorization matrix: every route of the application (generated from its route table, so a new route
cannot escape) × every kind of caller → allowed or refused, on HTTP and websocket routes.

"Refused" means 401/403 (websockets: closed with 4401/4403); anything else (200, 201, 302, 400, 404, 409, 422)
means the caller got past authorization. A route that matches no rule below fails the test: add a rule.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from judging.accounts import revoke_tokens
from judging.auth import issue_token
from judging.db.models import Account, Conflict, Entry, PanelMember, RoleGrant, ScoreSheet, Venue
from judging.settings import Settings
from tests.conftest import run_db

ROLES = ("anonymous", "judge", "judge_other_venue", "conflicted_judge", "reviewer", "chief_judge",
         "chief_other_venue", "host", "display", "revoked", "staff", "owner")
EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {"anonymous", "revoked"}
STAFF = frozenset({"staff", "owner"})
JUDGES = frozenset({"judge", "judge_other_venue", "conflicted_judge", "reviewer", "chief_judge",
                    "chief_other_venue"})
VENUE1_CHIEF = STAFF | {"chief_judge"}
VENUE1_CONTROL = STAFF | {"chief_judge", "host"}
VENUE1_SCREEN = VENUE1_CONTROL | {"display"}

# (method regex, path regex, allowed roles): first match wins. Paths are the route table's templates.
RULES: list[tuple[str, str, frozenset[str]]] = [
    # Credential checks, not authorization: without the right password everyone gets 401.
    ("POST", r"^/login$|^/api/auth/login$", frozenset()),
    (".*", r"^/$|^/healthz$|^/login$|^/api/auth/login$|^/logout$|^/j/|^/setup/|^/lang/|^/schema|^/static/",
     EVERYONE),
    (".*", r"^/board/|^/api/live/board/|^/ws/board/", EVERYONE),  # the public leaderboard: released results only
    (".*", r"^/api/me$", LOGGED_IN),
    ("POST", r"^/api/staff/invitations$|^/staff/invitations$|/finalize$", frozenset({"owner"})),
    # Staff accounts: the owner only (the judges' revoke refuses a staff target for staff: a 403 after the guard).
    (".*", r"^(/api)?/staff/accounts$|^(/api)?/staff/accounts/\{account_id:int\}/(setup-link|disable|enable)$",
     frozenset({"owner"})),
    (".*", r"^/staff|^/api/staff/|^/api/live/staff/|^/ws/staff/", STAFF),
    (".*", r"^/api/judge/sheets/\{sheet_id:int\}/history$", frozenset({"judge"})),  # only the sheet's own judge
    ("POST", r"^/api/judge/sheets$", frozenset({"judge", "chief_judge"})),  # an entry of venue 1, X's conflict
    (".*", r"^/judge|^/api/judge/", JUDGES),
    # Staff, the sheet's own judge, and the venue's chief judge only after release.
    (".*", r"^/api/chief/sheets/\{sheet_id:int\}/history$", STAFF | {"judge"}),
    (".*", r"^/api/chief/", VENUE1_CHIEF),
    ("POST", r"^/api/venue/.*/release$", VENUE1_CHIEF),
    (".*", r"^/venue/|^/api/venue/", VENUE1_CONTROL),
    # The console feed adds the panel's tablets (presence): the venue's host and chief judge only.
    (".*", r"^/ws/venue/.*/console$", VENUE1_CONTROL),
    # The venue's judges follow the stage on the venue feed (released values only).
    (".*", r"^/ws/venue/", VENUE1_SCREEN | {"judge", "conflicted_judge"}),
    (".*", r"^/screen/|^/api/live/venue/", VENUE1_SCREEN),
]


def expected(method: str, path: str) -> frozenset[str]:
    for m, p, allowed in RULES:
        if re.match(m, method) and re.search(p, path):
            return allowed
    raise AssertionError(f"{method} {path} matches no authorization rule: add one to tests/test_authz_matrix.py")


class World:
    """The demo contest plus one session token per kind of caller."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        run_db(settings, self._build)

    async def _token(self, session: Any, account_id: int) -> str:
        raw, _ = await issue_token(session, self.settings.secret, "session", account_id)
        return raw

    async def _account_of(self, session: Any, person_id: int) -> int:
        return int((await session.execute(select(Account.id).where(Account.person_id == person_id))).scalar_one())

    async def _grant(self, session: Any, role: str, venue_id: int | None = None) -> int:
        stmt = select(RoleGrant.account_id).where(RoleGrant.role == role)
        if venue_id is not None:
            stmt = stmt.where(RoleGrant.venue_id == venue_id)
        return int((await session.execute(stmt.order_by(RoleGrant.account_id).limit(1))).scalar_one())

    async def _build(self, session: Any) -> None:
        from judging.demo import seed_demo

        contest = await seed_demo(session)
        venues = (await session.execute(select(Venue).where(Venue.contest_id == contest.id)
                                        .order_by(Venue.position))).scalars().all()
        v1, v2, v3 = (v.id for v in venues)
        declared = (await session.execute(select(Conflict).where(Conflict.source == "declared"))).scalar_one()
        conflicted = {c.person_id for c in (await session.execute(select(Conflict))).scalars()}
        members = (await session.execute(select(PanelMember).where(PanelMember.venue_id == v1)
                                          .order_by(PanelMember.id))).scalars().all()
        plain = next(m.person_id for m in members if not m.is_chief and m.person_id not in conflicted)
        accounts = {
            "judge": await self._account_of(session, plain),
            "conflicted_judge": await self._account_of(session, declared.person_id),
            "judge_other_venue": await self._grant(session, "judge", v2),
            "reviewer": await self._grant(session, "reviewer"),
            "chief_judge": await self._grant(session, "chief_judge", v1),
            "chief_other_venue": await self._grant(session, "chief_judge", v2),
            "host": await self._grant(session, "host", v1),
            "display": await self._grant(session, "display", v1),
            "revoked": await self._grant(session, "judge", v3),
        }
        for role in ("staff", "owner"):
            account = Account(username=role, display_name=role)
            session.add(account)
            await session.flush()
            session.add(RoleGrant(account_id=account.id, role=role))
            accounts[role] = account.id
        spare = Account(display_name="spare")  # the target of revoke / reissue routes
        session.add(spare)
        await session.flush()
        session.add(RoleGrant(account_id=spare.id, role="judge", contest_id=contest.id, venue_id=v3))
        for role, account_id in accounts.items():
            self.tokens[role] = await self._token(session, account_id)
        await revoke_tokens(session, accounts["revoked"])
        entry_x = await session.get(Entry, declared.entry_id)
        sheet = await self._onsite_sheet(session, plain, entry_x)
        # Venue 1 and entry X's topic type are in use: the setup delete routes refuse them (409), so the world the
        # later callers need is never deleted.
        self.ids = {"contest_id": contest.id, "venue_id": v1, "other_venue_id": v3, "entry_id": entry_x.id,
                    "account_id": spare.id, "sheet_id": int(sheet), "run_id": 999, "rubric_id": 1,
                    "conflict_id": 999, "help_call_id": 999, "topic_type_id": entry_x.topic_type_id}


    async def _onsite_sheet(self, session: Any, person_id: int, entry: Entry) -> int:
        """The plain judge's own on-site sheet for entry X (the target of the sheet routes)."""
        from decimal import Decimal

        from judging.db.models import Rubric, SheetVersion, Stage

        stage = (await session.execute(select(Stage).where(Stage.contest_id == entry.contest_id,
                                                           Stage.kind == "onsite"))).scalar_one()
        rubric = (await session.execute(select(Rubric).where(Rubric.stage_id == stage.id,
                                                             Rubric.topic_type_id == entry.topic_type_id))).scalar_one()
        sheet = ScoreSheet(stage_id=stage.id, entry_id=entry.id, person_id=person_id, rubric_id=rubric.id)
        session.add(sheet)
        await session.flush()
        session.add(SheetVersion(sheet_id=sheet.id, version=1, client_submission_id=secrets.token_hex(16),
                                 values={}, total=Decimal(0)))
        return int(sheet.id)


def concrete(path: str, ids: dict[str, int]) -> str:
    def sub(m: re.Match[str]) -> str:
        name, kind = m.group(1), m.group(2)
        if name == "venue_id" and "/qr/" in path:
            return str(ids["other_venue_id"])  # reissuing venue 1's links would revoke the callers' own tokens
        if name in ids:
            return str(ids[name])
        return {"str": "x", "path": "x.css", "int": "1"}.get(kind, "x")

    return re.sub(r"\{(\w+):(\w+)\}", sub, path)


def body_for(method: str, path: str, world: World) -> dict[str, Any]:
    if path in ("/login", "/api/auth/login"):
        return {"username": "nobody-" + secrets.token_hex(4), "password": "not the password"}
    if path == "/api/judge/sheets":
        return {"client_submission_id": secrets.token_hex(16), "entry_id": world.ids["entry_id"], "values": {}}
    if path.endswith("/timer"):
        return {"action": "start"}
    if path.endswith("/attendance"):
        return {"status": "scheduled"}
    if path.endswith("/reopen"):
        return {"reason": "matrix test"}
    if path.endswith("/help"):
        return {"message": "matrix"}
    if path.endswith("/heartbeat"):
        return {"device_id": "matrix"}
    return {}


def routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if methods is None:
            out.append(("WS", route.path))
            continue
        out.extend((m, route.path) for m in sorted(methods - {"HEAD", "OPTIONS"}))
    return out


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings)


def _http(client: TestClient[Any], world: World, role: str) -> Callable[[str, str], int]:
    def call(method: str, template: str) -> int:
        token = world.tokens.get(role)
        if template == "/logout" and token:
            token = run_db(world.settings, lambda s: _fresh(s, world, role))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client.cookies.clear()
        path = concrete(template, world.ids)
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if template == "/login":
            kwargs["data"] = body_for(method, template, world)  # an HTML form
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = body_for(method, template, world)
        return int(client.request(method, path, **kwargs).status_code)

    return call


async def _fresh(session: Any, world: World, role: str) -> str:
    from judging.auth import find_token

    token = await find_token(session, world.settings.secret, world.tokens[role], ("session",))
    if token is None:
        return world.tokens[role]  # revoked stays revoked
    raw, _ = await issue_token(session, world.settings.secret, "session", token.account_id)
    return raw


def _ws(client: TestClient[Any], world: World, role: str, template: str) -> bool:
    from litestar.exceptions import WebSocketDisconnect

    token = world.tokens.get(role)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client.cookies.clear()
    try:
        with client.websocket_connect(concrete(template, world.ids), headers=headers) as ws:
            first = ws.receive_json()
            return first.get("type") != "error"
    except WebSocketDisconnect as exc:
        assert exc.code in (4401, 4403), f"{role} on {template}: closed with {exc.code}"
        return False


def test_authorization_matrix(app: Any, world: World) -> None:
    table = routes(app)
    assert len(table) > 50
    mismatches = []
    with TestClient(app, base_url="http://podium.test") as client:
        for role in ROLES:
            call = _http(client, world, role)
            for method, template in table:
                allowed = role in expected(method, template)
                if method == "WS":
                    got = _ws(client, world, role, template)
                else:
                    status = call(method, template)
                    assert status < 500, f"{role} {method} {template}: {status}"
                    got = status not in (401, 403)
                if got != allowed:
                    mismatches.append(f"{role:18} {method:4} {template}: expected "
                                      f"{'allowed' if allowed else 'refused'}, got {'allowed' if got else 'refused'}")
    assert not mismatches, "\n".join(mismatches)


def test_every_guard_runs_on_the_event_loop(app: Any) -> None:
    """Litestar runs a sync guard in its thread pool (a thread hand-off on every request): each route's guards
    must be coroutine functions, so a new sync guard cannot slip in."""
    import inspect

    from litestar.utils.sync import AsyncCallable

    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", None) or [getattr(route, "route_handler", None)]:
            if handler is None:
                continue
            for guard in handler.resolve_guards():
                name = getattr(guard, "__name__", repr(guard))
                assert not isinstance(guard, AsyncCallable), f"{route.path}: guard {name} is sync (runs in a thread)"
                assert inspect.iscoroutinefunction(guard), f"{route.path}: guard {name} is not a coroutine function"
                checked += 1
    assert checked > 20  # the route table has guarded routes: this test must not pass vacuously
