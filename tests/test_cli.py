"""The podium command, run as a newcomer would (in-process for speed, with PODIUM_* set as in a shell)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from judging.cli import main


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("PODIUM_DATABASE_URL", "PODIUM_REDIS_URL", "PODIUM_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PODIUM_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_db_current_upgrade_and_downgrade(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 1
    assert "(empty database)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"current: (\w+)\s+head: (\w+)", out)
    assert found and found[1] == found[2], out
    assert main(["db", "downgrade"]) == 2
    assert main(["db", "downgrade", "base"]) == 0
    assert (shell / "secret").exists() and (shell / "podium.db").exists()


def test_demo_if_empty_loads_once(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--if-empty"]) == 0
    assert "demo contest 1 loaded" in capsys.readouterr().out
    assert main(["demo", "--if-empty"]) == 0
    assert "already holds a contest" in capsys.readouterr().out


def test_links_and_users(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo"])
    capsys.readouterr()
    assert main(["links"]) == 0
    out = capsys.readouterr().out
    assert "/setup/" in out and out.count("/j/") == 3 and "/schema" in out and "venue control" in out
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    judge_id = next(line.split()[0] for line in listing.splitlines() if "judge@venue" in line)
    assert main(["users", "link", judge_id]) == 0
    assert "/j/" in capsys.readouterr().out
    assert main(["users", "revoke", judge_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["users", "invite-staff", "王老师"]) == 0
    assert "/setup/" in capsys.readouterr().out
    assert main(["users", "setup-link"]) == 0
    assert "/setup/" in capsys.readouterr().out


def test_a_forgotten_owner_password_is_reset_from_the_shell(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The owner cannot reset their own account on the staff pages: the server's shell can."""
    from litestar.testing import TestClient

    from judging.app import create_app
    from judging.settings import Settings
    from tests.helpers import PASSWORD, make_staff, staff_login

    main(["demo"])
    settings = Settings.from_env().with_secret()
    owner = make_staff(settings, "owner", "owner")
    capsys.readouterr()
    assert main(["users", "setup-link", "--account", str(owner)]) == 0
    out = capsys.readouterr().out
    token = re.search(r"/setup/(\S+)", out)
    assert token and "setup link for owner" in out, out
    with TestClient(create_app(settings), base_url="http://podium.test") as client:
        assert client.post(f"/setup/{token[1]}", data={"username": "owner", "password": "new owner passphrase",
                                                        "password2": "new owner passphrase"},
                           follow_redirects=False).status_code in (302, 303)
        client.cookies.clear()
        assert staff_login(client, "owner", PASSWORD).status_code == 401
        assert staff_login(client, "owner", "new owner passphrase").status_code == 201
    # A judge's account is not reset this way (it has a login link), nor an unknown one.
    assert main(["users", "list"]) == 0
    judge_id = next(line.split()[0] for line in capsys.readouterr().out.splitlines() if "judge@venue" in line)
    with pytest.raises(SystemExit, match="not an owner or staff account"):
        main(["users", "setup-link", "--account", judge_id])
    with pytest.raises(SystemExit, match="there is no account"):
        main(["users", "setup-link", "--account", "999999"])


def test_serve_refuses_several_workers_on_sqlite(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2"]) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err
