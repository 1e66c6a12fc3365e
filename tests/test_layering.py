"""Dependency direction: scoring <- live <- judging. scoring is pure numpy; live knows no SQLAlchemy models."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_roots(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_scoring_imports_only_numpy_and_stdlib() -> None:
    roots = imported_roots("scoring")
    forbidden = {"litestar", "sqlalchemy", "judging", "live", "advanced_alchemy", "redis", "websockets", "scipy"}
    assert not (set(roots) & forbidden), {k: roots[k] for k in set(roots) & forbidden}


def test_live_does_not_import_judging_or_sqlalchemy() -> None:
    roots = imported_roots("live")
    assert "judging" not in roots and "sqlalchemy" not in roots, roots
