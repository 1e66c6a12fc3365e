"""Every staff route refuses anonymous users, judges, chief judges, reviewers, hosts and screens.

The list of routes is generated from the app's route table, so a new staff route cannot escape the check; and
every route under /staff or /api/staff must carry the staff guard.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from judging.auth import requires_staff
from judging.settings import Settings
from tests.helpers import account_with_role, login_link

OUTSIDERS = ("anonymous", "judge", "chief_judge", "reviewer", "display", "host")


def staff_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            methods = sorted(getattr(handler, "http_methods", []) or [])
            if not methods:
                continue
            guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
            path = route.path
            if path.startswith(("/staff", "/api/staff")):
                assert requires_staff in guards, f"{path} lacks the staff guard"
            if requires_staff not in guards:
                continue
            concrete = re.sub(r"\{(\w+):int\}", "1", path)
            concrete = re.sub(r"\{(\w+):str\}", "entries", concrete)
            for m in methods:
                if m in ("HEAD", "OPTIONS"):
                    continue
                out.append((m, concrete))
    return sorted(set(out))


def test_the_route_table_has_the_staff_console(app: Any) -> None:
    routes = staff_routes(app)
    paths = {p for _, p in routes}
    for expected in ("/staff/contests/1/import", "/staff/contests/1/assign", "/staff/contests/1/grading",
                     "/api/staff/contests/1/monitor", "/staff/contests/1/runs/1/export/entries",
                     "/api/staff/runs/1/finalize", "/staff/audit"):
        assert expected in paths, expected
    assert len(routes) >= 45


@pytest.mark.parametrize("who", OUTSIDERS)
def test_every_staff_route_refuses(who: str, settings: Settings, demo: int, app: Any) -> None:
    routes = staff_routes(app)
    with TestClient(app, base_url="http://podium.test") as client:
        if who != "anonymous":
            account = account_with_role(settings, who)
            r = client.get(f"/j/{login_link(settings, account)}", follow_redirects=False)
            assert r.status_code in (302, 303), r.text
        failures = []
        for method, path in routes:
            r = client.request(method, path, headers={"accept": "application/json"}, follow_redirects=False)
            expected = 401 if who == "anonymous" else 403
            if r.status_code != expected:
                failures.append((method, path, r.status_code))
        assert failures == []
