"""Small server-rendered SVG charts for the grading diagnostics (no JavaScript, no CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

W = 720


def _svg(height: int, body: str, title: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>')


def severity_chart(judges: list[dict[str, Any]], title: str) -> str:
    """Judge severity (points, + = lenient) with a 95% interval, one row per judge, grouped by venue."""
    rows = [j for j in judges if j.get("severity") is not None]
    if not rows:
        return ""
    rows.sort(key=lambda j: (j.get("venue", ""), j["severity"]))
    lim = max(1.0, max(abs(j["severity"]) + 2 * (j.get("se") or 0) for j in rows))
    left, right, rh = 220, W - 20, 18
    h = 30 + rh * len(rows)

    def x(v: float) -> float:
        return left + (v + lim) / (2 * lim) * (right - left)

    parts = [f'<line x1="{x(0):.1f}" y1="10" x2="{x(0):.1f}" y2="{h - 15}" stroke="#888" stroke-dasharray="3 3"/>',
             f'<text x="{left}" y="{h - 2}" font-size="11" fill="#666">−{lim:.1f}</text>',
             f'<text x="{right - 30}" y="{h - 2}" font-size="11" fill="#666">+{lim:.1f}</text>']
    for k, j in enumerate(rows):
        y = 20 + k * rh
        se = j.get("se") or 0
        lo, hi = j["severity"] - 2 * se, j["severity"] + 2 * se
        color = "#b3261e" if abs(j["severity"]) > 2 * se and se > 0 else "#1d5fbf"
        label = f'{escape(j.get("venue", ""))} · {escape(j["name"])}'
        parts.append(f'<text x="4" y="{y + 4}" font-size="12">{label}</text>')
        parts.append(f'<line x1="{x(lo):.1f}" y1="{y}" x2="{x(hi):.1f}" y2="{y}" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(j["severity"]):.1f}" cy="{y}" r="4" fill="{color}"/>')
    return _svg(h, "".join(parts), title)


def distribution_chart(venue_scores: dict[str, list[float]], title: str) -> str:
    """Per venue: every on-site total as a dot, with the median and quartile box."""
    if not venue_scores:
        return ""
    allv = [v for vs in venue_scores.values() for v in vs]
    lo, hi = min(allv), max(allv)
    if hi - lo < 1:
        lo, hi = lo - 1, hi + 1
    left, right, rh = 140, W - 20, 40
    names = sorted(venue_scores)
    h = 30 + rh * len(names)

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (right - left)

    parts = [f'<text x="{left}" y="{h - 4}" font-size="11" fill="#666">{lo:.0f}</text>',
             f'<text x="{right - 20}" y="{h - 4}" font-size="11" fill="#666">{hi:.0f}</text>']
    for k, name in enumerate(names):
        vs = sorted(venue_scores[name])
        y = 22 + k * rh
        q1, med, q3 = vs[len(vs) // 4], vs[len(vs) // 2], vs[(3 * len(vs)) // 4]
        parts.append(f'<text x="4" y="{y + 4}" font-size="12">{escape(name)}</text>')
        parts.append(f'<rect x="{x(q1):.1f}" y="{y - 9}" width="{max(1, x(q3) - x(q1)):.1f}" height="18" '
                     f'fill="#e8edf5" stroke="#1d5fbf"/>')
        parts.append(f'<line x1="{x(med):.1f}" y1="{y - 11}" x2="{x(med):.1f}" y2="{y + 11}" stroke="#b3261e" '
                     f'stroke-width="2"/>')
        for n, v in enumerate(vs):
            parts.append(f'<circle cx="{x(v):.1f}" cy="{y + ((n % 5) - 2) * 2}" r="2" fill="#1c2430" '
                         f'fill-opacity="0.5"/>')
    return _svg(h, "".join(parts), title)


def agreement_chart(venues: list[dict[str, Any]], title: str) -> str:
    """ICC(2,k) and Kendall's W per venue as bars on 0..1, with the 0.75 line."""
    if not venues:
        return ""
    left, right, rh = 140, W - 60, 36
    h = 30 + rh * len(venues)

    def x(v: float) -> float:
        return left + max(0.0, min(1.0, v)) * (right - left)

    parts = [f'<line x1="{x(0.75):.1f}" y1="8" x2="{x(0.75):.1f}" y2="{h - 14}" stroke="#b26a00" '
             f'stroke-dasharray="4 3"/>', f'<text x="{x(0.75) - 10:.1f}" y="{h - 2}" font-size="11">0.75</text>']
    for k, v in enumerate(venues):
        y = 14 + k * rh
        parts.append(f'<text x="4" y="{y + 12}" font-size="12">{escape(v["venue"])}</text>')
        for n, (key, color, label) in enumerate((("icc_k", "#1d5fbf", "ICC"), ("kendall_w", "#1e7d32", "W"))):
            val = v.get(key)
            if val is None:
                continue
            yy = y + n * 13
            parts.append(f'<rect x="{left}" y="{yy}" width="{x(val) - left:.1f}" height="11" fill="{color}"/>')
            parts.append(f'<text x="{x(val) + 4:.1f}" y="{yy + 10}" font-size="11">{label} {val:.2f}</text>')
    return _svg(h, "".join(parts), title)
