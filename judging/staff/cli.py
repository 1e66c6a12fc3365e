"""``podium import entries|judges|reviews FILE --contest ID [--dry-run]`` and ``podium grades verify RUN_ID``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from judging.i18n import Translator


def cmd_import(args: argparse.Namespace, settings: Any, run_db: Any) -> int:
    from judging.audit import record
    from judging.db.models import Contest
    from judging.staff import conflicts, importing

    path = Path(args.file)
    if not path.is_file():
        print(f"podium import: no such file: {path}")
        return 2
    data = path.read_bytes()
    t = Translator(settings.default_locale)

    async def run(session: Any) -> importing.Report:
        if await session.get(Contest, args.contest) is None:
            raise SystemExit(f"podium import: there is no contest {args.contest}")
        report = await importing.run_import(session, args.contest, args.kind, data, path.name, dry_run=args.dry_run,
                                            only_valid=args.only_valid, stage=args.stage)
        if report.written:
            if args.kind == "judges":
                await conflicts.detect_automatic(session, args.contest)
            record(session, None, f"import.{args.kind}", contest_id=args.contest, target=path.name[:100],
                   reason="podium import", only_valid=args.only_valid, stage=args.stage, **report.summary())
        return report

    report = run_db(settings, run)
    for line in report.lines(t.gettext):
        print(line)
    if report.errors and not report.written:
        print(t.gettext("The file has errors. Nothing has been imported."))
    elif args.dry_run and report.ok:
        print(t.gettext("Dry run: the file is clean; nothing was written."))
    return 1 if report.errors else 0


def cmd_grades(args: argparse.Namespace, settings: Any, run_db: Any) -> int:
    from judging.audit import record
    from judging.staff import grading

    async def run(session: Any) -> grading.Verification:
        try:
            v = await grading.verify(session, args.run_id)
        except grading.GradingError as exc:
            raise SystemExit(f"podium grades verify: {exc}") from exc
        record(session, None, "grades.verify", target=f"grade_run:{args.run_id}", reason="podium grades verify",
               ok=v.ok, current=v.current)
        return v

    v = run_db(settings, run)
    print(f"run {v.run_id}: stored digest     {v.stored_digest}")
    print(f"run {v.run_id}: recomputed digest {v.recomputed_digest}")
    print(f"run {v.run_id}: current log       {v.current_digest}")
    for m in v.mismatches:
        print("  mismatch: " + m)
    print("REPRODUCED" if v.ok else "NOT REPRODUCED")
    if not v.current:
        print("note: the score log changed after this run (later corrections): the run is outdated")
    return 0 if v.ok else 1


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("import", help="import entries, judges/reviewers or scores from .xlsx/.csv")
    p.add_argument("kind", choices=["entries", "judges", "reviews"])
    p.add_argument("file")
    p.add_argument("--contest", type=int, required=True, help="contest id")
    p.add_argument("--dry-run", action="store_true", help="check the whole file and print the report; write nothing")
    p.add_argument("--only-valid", action="store_true", help="import the valid rows even if other rows have errors")
    p.add_argument("--stage", choices=["initial", "onsite"], default="initial", help="stage of imported scores")
    p.set_defaults(func=_wrap(cmd_import))

    p = sub.add_parser("grades", help="grade runs")
    gsub = p.add_subparsers(dest="action", required=True)
    q = gsub.add_parser("verify", help="recompute a grade run from the score log and compare digest and grades")
    q.add_argument("run_id", type=int)
    p.set_defaults(func=_wrap(cmd_grades))


def _wrap(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from judging import migrate
        from judging.cli import _run_db, _settings

        settings = _settings()
        migrate.upgrade(settings) if settings.is_sqlite else None
        return fn(args, settings, _run_db)

    return run
