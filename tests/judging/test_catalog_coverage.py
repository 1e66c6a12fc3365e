"""Chinese first: every message a page shows through the catalog has a Simplified Chinese translation.

Scans the page scripts (``t("...")``) and templates (``_("...")``) for the literal messages they pass, including
both arms of a conditional (``t(a ? "x" : "y")``), and the scripts' message tables (``const STATUS = {k: "..."}``:
an upper-case constant object, whose values the script passes to ``t``); a literal that is the prefix of a composed key
(``_("role:" ~ r.role)``) must be the prefix of at least one translated key. A new English string in a page that
nobody translated fails here instead of showing English to a judge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from judging.i18n import catalog

ROOT = Path(__file__).resolve().parents[2] / "judging"
SOURCES = sorted([*(ROOT / "static" / "js").glob("*.js"), *(ROOT / "templates").rglob("*.html")])
CALL = {".js": re.compile(r"(?<![\w.$])t\("), ".html": re.compile(r"(?<![\w.])_\(")}
TABLE = re.compile(r"\bconst [A-Z][A-Z_]* = \{")


def first_argument_literals(src: str, start: int, *, whole: bool = False) -> list[tuple[str, bool]]:
    """String literals in the first argument of the call whose "(" ends at ``start``: (text, is_prefix), where
    is_prefix means the literal is joined to something computed (``~`` in Jinja, ``+`` in JS). ``whole``: every
    literal up to the closing bracket (an object's body), not only the first argument's."""
    depth, i, out = 0, start, []
    while i < len(src):
        c = src[i]
        if c in "\"'`":
            j, buf = i + 1, []
            while src[j] != c:
                if src[j] == "\\":
                    buf.append(src[j + 1])
                    j += 2
                    continue
                buf.append(src[j])
                j += 1
            if depth == 0:
                out.append(("".join(buf), src[j + 1:].lstrip()[:1] in ("~", "+")))
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif c == "," and depth == 0 and not whole:
            break
        i += 1
    return out


def messages(path: Path) -> list[tuple[str, bool]]:
    src = path.read_text(encoding="utf-8")
    found = [lit for m in CALL[path.suffix].finditer(src) for lit in first_argument_literals(src, m.end())]
    if path.suffix == ".js":
        found += [lit for m in TABLE.finditer(src) for lit in first_argument_literals(src, m.end(), whole=True)]
    return [(text, prefix) for text, prefix in found if text]  # t(x || "") passes an empty fallback


def test_the_scanner_finds_what_pages_pass() -> None:
    src = 'x = t("Plain"); y = t(ok ? "Yes {n}" : "No", { n: 1 }); z = _("role:" ~ r); w = fmt("Not a call")'
    found = [lit for m in CALL[".js"].finditer(src) for lit in first_argument_literals(src, m.end())]
    found += [lit for m in CALL[".html"].finditer(src) for lit in first_argument_literals(src, m.end())]
    assert found == [("Plain", False), ("Yes {n}", False), ("No", False), ("role:", True)]
    table = 'const ERRORS = {busy: "Busy", gone: "Gone {x}"};\nconst lower = {a: "Not a table"};'
    assert [lit for m in TABLE.finditer(table) for lit in first_argument_literals(table, m.end(), whole=True)] \
        == [("Busy", False), ("Gone {x}", False)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_page_message_has_a_chinese_translation(path: Path) -> None:
    zh = catalog("zh_Hans")
    missing = [text for text, prefix in messages(path)
               if (not any(key.startswith(text) for key in zh) if prefix else text not in zh)]
    assert not missing, f"{path.name}: no zh_Hans translation for {missing}"


def test_the_scan_covers_the_pages() -> None:
    assert {p.name for p in SOURCES} >= {"tablet.js", "control.js", "tablet.html"}
    assert sum(len(messages(p)) for p in SOURCES) > 200  # the scan sees the pages' messages, not nothing


def test_every_audited_action_has_a_label_on_the_audit_page() -> None:
    """The audit page names each action in the viewer's language ("audit:<action>"), the code beside it; an action
    added without a label would show only its code."""
    call, action = r'record\(\s*[^,]+,\s*[^,]+,\s*', r'[a-z_]+\.[a-z_]+'
    literal = re.compile(rf'{call}"({action})"')
    conditional = re.compile(rf'{call}"(?P<a>{action})" if [^"]+ else "(?P<b>{action})"')
    actions: set[str] = set()
    for path in (ROOT).rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        actions.update(literal.findall(src))
        for m in conditional.finditer(src):
            actions.update((m["a"], m["b"]))
    # Composed ones: the values their routes accept.
    actions |= {f"assign.panel_{a}" for a in ("add", "remove", "chief")}
    actions |= {f"entry.{s}" for s in ("absent", "withdrawn", "scheduled")}
    actions |= {f"timer.{a}" for a in ("start", "pause", "reset")}
    actions |= {f"import.{k}" for k in ("entries", "judges", "reviews")}
    assert len(actions) > 30
    for locale in ("zh_Hans", "en"):
        table = catalog(locale)
        missing = sorted(a for a in actions if f"audit:{a}" not in table)
        assert missing == [], (locale, missing)
