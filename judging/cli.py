"""The ``podium`` command (also ``python -m judging``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from judging.settings import Settings, SettingsError


def _settings() -> Settings:
    return Settings.from_env().with_secret()


def _run_db(settings: Settings, fn: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``fn(session)`` in one write transaction against the configured database."""
    from judging.db.engine import Database

    async def main() -> Any:
        db = Database(settings, null_pool=True)
        try:
            async with db.write() as session:
                return await fn(session)
        finally:
            await db.dispose()

    return asyncio.run(main())


# ------------------------------------------------------------------------------------------ commands
def cmd_db(args: argparse.Namespace) -> int:
    from judging import migrate

    settings = _settings()
    if args.action == "upgrade":
        migrate.upgrade(settings, args.revision or "head")
        print(f"database at revision {migrate.current_revision(settings)} ({_where(settings)})")
    elif args.action == "downgrade":
        if not args.revision:
            print("podium db downgrade needs a revision, e.g. 'base' or '-1'", file=sys.stderr)
            return 2
        migrate.downgrade(settings, args.revision)
        print(f"database at revision {migrate.current_revision(settings)}")
    else:
        current, head = migrate.current_revision(settings), migrate.head_revision(settings)
        print(f"current: {current or '(empty database)'}  head: {head}  ({_where(settings)})")
        return 0 if current == head else 1
    return 0


def _where(settings: Settings) -> str:
    url = settings.db_url
    return url.split("@")[-1] if "@" in url else url


def cmd_demo(args: argparse.Namespace) -> int:
    from judging import migrate
    from judging.demo import contest_count, seed_demo

    settings = _settings()
    migrate.upgrade(settings)

    async def seed(session: Any) -> str:
        if args.if_empty and await contest_count(session):
            return "the database already holds a contest: demo not loaded"
        contest = await seed_demo(session, seed=args.seed)
        return f"demo contest {contest.id} loaded: {contest.name}"

    print(_run_db(settings, seed))
    return 0


async def _account_setup_link(session: Any, settings: Any, account_id: int) -> str:
    """``podium users setup-link --account ID``: the server's shell may reset any owner or staff account (the one
    way back for an owner who forgot the password)."""
    from judging import accounts
    from judging.audit import record
    from judging.db.models import Account

    account = await session.get(Account, account_id)
    if account is None:
        raise SystemExit(f"there is no account {account_id}")
    roles = await accounts.roles_of(session, account_id)
    if not roles & {"owner", "staff"}:
        raise SystemExit(f"account {account_id} is not an owner or staff account; judges, hosts and screens get a "
                         f"login link: podium users link {account_id}")
    if account.disabled:
        raise SystemExit(f"account {account_id} ({account.display_name}) is disabled; the owner enables it on the "
                         "staff accounts page first")
    raw = await accounts.replace_setup_link(session, settings.secret, account_id)
    record(session, None, "account.setup_link", target=f"account:{account_id}", reason="podium users setup-link",
           display_name=account.display_name)
    return (f"setup link for {account.display_name} (valid once, {accounts.SETUP_LINK_TTL.days} days; the password "
            f"works until it is used): {accounts.setup_url(settings.base_url, raw)}")


def cmd_users(args: argparse.Namespace) -> int:
    from judging import accounts
    from judging.audit import record
    from judging.db.models import Account, RoleGrant

    settings = _settings()
    base = settings.base_url

    async def run(session: Any) -> str:
        secret = settings.secret
        if args.action == "setup-link" and args.account_id is not None:
            return await _account_setup_link(session, settings, args.account_id)
        if args.action == "setup-link":
            raw = await accounts.new_owner_setup_token(session, secret)
            if raw is None:
                return "an owner exists already; the owner invites staff from the staff pages"
            record(session, None, "account.setup_link", target="owner")
            return "owner setup link (valid once, 3 days): " + accounts.setup_url(base, raw)
        if args.action == "invite-staff":
            account, raw = await accounts.invite_staff(session, secret, args.name)
            record(session, None, "account.invite", target=f"account:{account.id}", display_name=args.name)
            return f"staff account {account.id} ({args.name}); setup link: {accounts.setup_url(base, raw)}"
        if args.action == "list":
            rows = (await session.execute(select(Account).order_by(Account.id))).scalars().all()
            grants = (await session.execute(select(RoleGrant))).scalars().all()
            lines = []
            for a in rows:
                roles = ",".join(sorted({g.role + (f"@venue{g.venue_id}" if g.venue_id else "")
                                         for g in grants if g.account_id == a.id}))
                lines.append(f"{a.id:5d}  {a.display_name:<16} {a.username or '-':<14} {roles}")
            return "\n".join(lines) or "no accounts"
        account = await session.get(Account, args.account_id)
        if account is None:
            raise SystemExit(f"there is no account {args.account_id}")
        if args.action == "link":
            raw = await accounts.reissue_login_link(session, secret, account.id)
            record(session, None, "token.reissue", target=f"account:{account.id}", reason="podium users link")
            return f"login link for {account.display_name} (earlier ones revoked): {accounts.link_url(base, raw)}"
        n = await accounts.revoke_tokens(session, account.id)
        record(session, None, "token.revoke", target=f"account:{account.id}", reason="podium users revoke")
        return f"revoked {n} token(s) of {account.display_name}"

    from judging import migrate

    migrate.upgrade(settings)
    print(_run_db(settings, run))
    return 0


def cmd_links(_args: argparse.Namespace) -> int:
    """Print what a newcomer opens: the owner setup link and the login links of one judge, one venue's host and
    that venue's screen."""
    from judging import accounts
    from judging.audit import record
    from judging.db.models import Account, RoleGrant, Venue

    settings = _settings()
    base = settings.base_url

    async def run(session: Any) -> list[str]:
        out = [f"Podium is at {base}/"]
        raw = await accounts.new_owner_setup_token(session, settings.secret)
        if raw:
            out.append(f"  owner setup (choose your password, once): {accounts.setup_url(base, raw)}")
        else:
            out.append(f"  staff login: {base}/login")
        for role, label in (("judge", "judge"), ("host", "host (venue control)"), ("display", "venue screen")):
            row = (await session.execute(
                select(Account, Venue).join(RoleGrant, RoleGrant.account_id == Account.id)
                .join(Venue, Venue.id == RoleGrant.venue_id).where(RoleGrant.role == role)
                .order_by(Account.id).limit(1))).first()
            if row is None:
                continue
            account, venue = row
            raw = await accounts.add_login_link(session, settings.secret, account.id)
            record(session, None, "token.issue", target=f"account:{account.id}", reason="make run demo link")
            who = f"{label} {account.display_name}" if role == "judge" else label
            out.append(f"  {who} ({venue.name}): {accounts.link_url(base, raw)}")
        out.append(f"  API documentation: {base}/schema")
        return out

    print("\n".join(_run_db(settings, run)), flush=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from judging import migrate
    from judging.observability import configure_logging

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    if args.workers:
        overrides["workers"] = args.workers
    settings = Settings.from_env(**overrides).with_secret()
    if settings.is_sqlite:
        migrate.upgrade(settings)
    elif migrate.current_revision(settings) != migrate.head_revision(settings):
        print("the PostgreSQL database is not at the latest revision: run 'podium db upgrade' first",
              file=sys.stderr)
        return 1
    if args.links:
        cmd_links(args)
    configure_logging(settings.log_level)
    import os

    # Worker processes rebuild Settings from the environment: pass the command-line choices on.
    os.environ.update({"PODIUM_HOST": settings.host, "PODIUM_PORT": str(settings.port),
                       "PODIUM_WORKERS": str(settings.workers), "PODIUM_SECRET": settings.secret})
    uvicorn.run(
        "judging.app:serve_app", factory=True, host=settings.host, port=settings.port,
        workers=settings.workers, ws="websockets-sansio",
        # uvloop and httptools (C event loop and HTTP parser) instead of asyncio's and h11's pure-Python ones:
        # a contest day on one core is CPU-bound in exactly that layer (docs/architecture.md, dependencies)
        loop="uvloop" if sys.platform != "win32" else "asyncio", http="httptools", log_level=settings.log_level.lower(),
        # no permessage-deflate: browsers offer it, and it would compress every frame again per socket (the
        # live feeds encode each event once and write the same bytes to every subscriber)
        ws_per_message_deflate=False,
        # no protocol-level pings: the feeds' own heartbeat (live/server.py: a ping every 20 s, a client silent
        # for 60 s is closed, clients ping every 10 s) already finds dead peers; uvicorn's would add a ping, a
        # pong and a timer per socket every 20 s on top
        ws_ping_interval=None, ws_ping_timeout=None,
        proxy_headers=False, timeout_graceful_shutdown=5, access_log=False,
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from judging.backup import BackupError, backup

    try:
        path = backup(_settings(), Path(args.file) if args.file else None)
    except BackupError as exc:
        print(f"podium backup: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from judging.backup import BackupError, restore

    try:
        restore(_settings(), Path(args.file))
    except BackupError as exc:
        print(f"podium restore: {exc}", file=sys.stderr)
        return 1
    print(f"restored from {args.file}; run 'podium db upgrade' if the backup is from an older version")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """Print a live feed (implementation: live/watch.py)."""
    import os

    from live.watch import watch

    token = args.token or os.environ.get("PODIUM_TOKEN", "")
    return asyncio.run(watch(args.url, token=token, since=args.since, count=args.count, raw=args.raw))


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description="Podium: judging and scoring for live contests.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="migrate (SQLite) and serve the web application")
    p.add_argument("--host", help="address to listen on (default PODIUM_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default PODIUM_PORT or 8000)")
    p.add_argument("--workers", type=int, help="server processes; more than 1 needs PostgreSQL and Redis")
    p.add_argument("--links", action="store_true", help="print the owner setup link and demo login links first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="database migrations")
    p.add_argument("action", choices=["upgrade", "downgrade", "current"])
    p.add_argument("revision", nargs="?", help="target revision (upgrade: default head; downgrade: e.g. -1, base)")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("demo", help="load a demo contest (3 venues x 5 judges, 30 entries, initial reviews)")
    p.add_argument("--if-empty", action="store_true", help="only when the database holds no contest yet")
    p.add_argument("--seed", type=int, default=2024, help="random seed of the demo data")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("users", help="accounts and login tokens")
    usub = p.add_subparsers(dest="action", required=True)
    q = usub.add_parser("setup-link", help="print a one-time owner setup link (only while no owner exists), or with "
                        "--account a new setup link for an owner or staff account (a forgotten password)")
    q.add_argument("--account", type=int, default=None, dest="account_id",
                   help="an existing owner or staff account: earlier setup links stop working, the password works "
                        "until the link is used")
    q = usub.add_parser("invite-staff", help="create a staff account and print its one-time setup link")
    q.add_argument("name")
    usub.add_parser("list", help="list accounts and roles")
    q = usub.add_parser("link", help="issue a new login link for an account (revokes its earlier links)")
    q.add_argument("account_id", type=int)
    q = usub.add_parser("revoke", help="revoke every login link and session of an account")
    q.add_argument("account_id", type=int)
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("links", help="print the owner setup link and one judge and one screen login link")
    p.set_defaults(func=cmd_links)

    p = sub.add_parser("watch", help="print a live feed's events (e.g. http://host:8000/screen/1 or ws://.../ws/board/1)")
    p.add_argument("url", help="ws://host/ws/venue/<id>, /ws/board/<id>, /ws/staff/<id>, or a screen page URL")
    p.add_argument("--token", default="", help="login/session token sent as Bearer (default PODIUM_TOKEN)")
    p.add_argument("--since", type=int, default=0, help="last seq already seen (0: start from a snapshot)")
    p.add_argument("--count", type=int, default=0, help="exit after this many events (default: run until Ctrl-C)")
    p.add_argument("--raw", action="store_true", help="print the protocol messages as JSON")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("backup", help="copy the database to a file (SQLite online backup; pg_dump on PostgreSQL)")
    p.add_argument("file", nargs="?", help="target file (default var/backups/podium-<time>.*)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database's contents with a backup (stop the server first)")
    p.add_argument("file")
    p.set_defaults(func=cmd_restore)

    from judging.staff.cli import add_parsers as add_staff_parsers

    add_staff_parsers(sub)  # podium import entries|judges|reviews ..., podium grades verify RUN_ID
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"podium: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
