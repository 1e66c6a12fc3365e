"""Judge and venue diagnostics, with Benjamini-Hochberg-controlled flags.

Judges are corrected, not accused: severity (a harsh or lenient judge) is expected
and is removed by the model, so it is reported but never flagged. Flags are raised
only for patterns the correction cannot fully fix: erratic scoring, compressed or
stretched use of the scale, ranking unlike the rest of the panel, isolated large
deviations, and a score gap on entries with a declared relationship. Each flag
carries a plain-language meaning and the evidence; none is a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ._scores import BoolArray, FloatArray, IntArray, Scores
from ._stats import bh_qvalues, binom_sf, chi2_sf, group_average_ranks, group_pearson, norm_sf
from .calibrate import Calibration

__all__ = ["Diagnostics", "Flag", "JudgeReport", "VenueReport", "diagnose"]


@dataclass(frozen=True)
class Flag:
    """One flag: ``subject`` ("judge", "venue" or "design"), its id, the ``kind``, the
    statistic, p and BH q values (NaN for rule-based flags), the plain-language
    ``meaning`` and the ``entries`` that are the evidence."""

    subject: str
    id: int
    kind: str
    statistic: float
    p_value: float
    q_value: float
    meaning: str
    entries: tuple[int, ...] = ()


@dataclass(frozen=True)
class JudgeReport:
    """Per-judge arrays (length n_judges; NaN where a judge has too few scores).

    severity, severity_se : model offset ``b_j`` in points (+ = lenient) and its SE.
    severity_notable : ``|b| > 2 SE`` and ``|b| > 0.5 sigma`` (information, not a flag).
    scale, scale_se : slope of the judge's scores on the leave-one-out (LOO) panel
        mean, relative to the median judge (1 = uses the range like the panel).
    consistency : RMS of standardized residuals (1 = typical; 2 = twice the usual scatter).
    agreement : Spearman correlation between the judge's scores and the LOO panel means.
    cases : number of scores more than ``case_threshold`` typical deviations from the model.
    deviation_excess : ``sum max(|u| - 2.5, 0)^2`` over the judge's standardized residuals u
        (a continuous version of ``cases``).
    coi_delta, coi_n : mean residual on declared-relationship entries minus on others,
        in points, and the number of such entries.
    p_consistency, p_scale, p_agreement, p_cases, p_coi : one-family BH-adjusted below.
    """

    n: IntArray
    severity: FloatArray
    severity_se: FloatArray
    severity_notable: BoolArray
    scale: FloatArray
    scale_se: FloatArray
    consistency: FloatArray
    agreement: FloatArray
    cases: IntArray
    deviation_excess: FloatArray
    coi_delta: FloatArray
    coi_n: IntArray
    p_consistency: FloatArray
    p_scale: FloatArray
    p_agreement: FloatArray
    p_cases: FloatArray
    p_coi: FloatArray


@dataclass(frozen=True)
class VenueReport:
    """Per-venue arrays (length n_venues).

    icc_1, icc_k : ICC(2,1) and ICC(2,k) (Shrout & Fleiss two-way random effects) on the
        venue's complete entry x judge block; Koo & Li bands: < .5 poor, .5-.75 moderate,
        .75-.9 good, > .9 excellent.
    kendall_w, kendall_p : Kendall's W with tie correction and its chi-square p-value.
    shift, shift_se : estimated venue-wide shift (yardstick moderation, else anchors; NaN if
        not identifiable).
    linked : whether the venue is linked (by shared judges or anchors) to another venue.
    """

    n_entries: IntArray
    n_judges: IntArray
    icc_1: FloatArray
    icc_k: FloatArray
    kendall_w: FloatArray
    kendall_p: FloatArray
    shift: FloatArray
    shift_se: FloatArray
    component: IntArray
    linked: BoolArray


@dataclass(frozen=True)
class Diagnostics:
    """Result of :func:`diagnose`: ``judges``, ``venues``, ``flags`` and the typical residual SD."""

    judges: JudgeReport
    venues: VenueReport | None
    flags: tuple[Flag, ...]
    sigma: float
    alpha: float
    notes: tuple[str, ...] = field(default=())

    def flagged_judges(self, kind: str | None = None) -> IntArray:
        """Ids of judges with at least one flag (of ``kind`` if given)."""
        ids = {f.id for f in self.flags if f.subject == "judge" and (kind is None or f.kind == kind)}
        return np.array(sorted(ids), dtype=np.int64)


_MEANING = {
    "erratic": "scores scatter {s:.1f}x more around the panel consensus than a typical judge's. The model "
    "already gives these scores less weight; check the sheets were entered correctly.",
    "compressing": "uses a narrower part of the scale than the panel (slope {s:.2f}): strong and weak "
    "entries "
    "get similar marks. The scale correction handles it; worth mentioning at the judges' briefing.",
    "expanding": "spreads marks more widely than the panel (slope {s:.2f}). The scale correction handles it.",
    "disagrees": "ranks entries differently from the rest of the panel (Spearman {s:.2f} with the others' "
    "mean).",
    "deviation_cases": "{s:.0f} marks lie more than the case threshold away from the consensus "
    "(ISU-style cases of evaluation); see the listed entries.",
    "conflict_of_interest": "scores entries with a declared relationship {s:+.2f} points higher than "
    "expected, relative to their other entries.",
}


def diagnose(
    obs: Scores,
    fit: Calibration,
    *,
    coi: ArrayLike | None = None,
    alpha: float = 0.05,
    case_threshold: float = 3.0,
    min_entries: int = 5,
) -> Diagnostics:
    """Per-judge and per-venue diagnostics with BH-controlled flags.

    Parameters
    ----------
    obs : Scores
        The scores that were calibrated.
    fit : Calibration
        Its fit (any method; the model's fitted values are used when present, else
        ``score_i + mean_j(y - score)``).
    coi : bool array (n_obs,), optional
        ``True`` where the judge has a declared relationship with the entry (same
        organization, region...) but was not recused.
    alpha : float
        False-discovery rate for the flags (Benjamini-Hochberg over all judge tests).
    case_threshold : float
        A "case" is a standardized residual beyond this many typical SDs.
    min_entries : int
        Judges with fewer valid scores get no tests.

    Notes
    -----
    Residuals ``r_ij = y_ij - yhat_ij`` are standardized as
    ``u_ij = r_ij / (sigma * sqrt(1 - 1/K_i))`` with ``sigma = 1.4826 * median |r| /
    sqrt(1 - 1/median K)`` (robust to the judges being tested) and ``K_i`` the panel size.

    - consistency: ``sqrt(mean u^2)``, test ``sum u^2 ~ chi2(n_j)`` (upper tail).
    - scale: OLS slope of the judge's scores on the LOO panel mean
      ``m_ij = (sum_k y_ik - y_ij)/(K_i - 1)``, divided by the median slope; two-sided
      z-test against 1.
    - agreement: Spearman of ``y_ij`` and ``m_ij``; one-sided Fisher-z test of rho < 0.5
      (variance 1.06/(n-3)).
    - cases: count of ``|u| > case_threshold``; binomial tail against
      ``P(|Z| > threshold)``.
    - COI: difference of mean residuals, z-test with SE ``sigma_j sqrt(1/n1 + 1/n0)``.

    A judge is flagged when the BH q-value is <= ``alpha`` *and* the effect is material
    (consistency > 1.5; slope < 0.6 or > 1.6; Spearman < 0.5; a COI delta > 0).
    Per venue: ICC(2,1) ``(MSR-MSE)/(MSR+(k-1)MSE+k(MSC-MSE)/n)``, ICC(2,k)
    ``(MSR-MSE)/(MSR+(MSC-MSE)/n)`` and Kendall's ``W = 12S/(m^2(n^3-n) - m sum T)``
    with ``T = sum(t^3-t)`` over tie groups, on the block of entries scored by every
    judge who scored at least 90% of the venue's entries.
    """
    a = obs.active()
    rows = np.arange(len(obs)) if obs.recused is None else np.flatnonzero(~obs.recused)
    e, j, y = a.entry, a.judge, a.value
    ne, nj = a.n_entries, a.n_judges
    if fit.score.size != ne:
        raise ValueError(f"fit has {fit.score.size} entries but the scores have {ne}")
    coi_a: BoolArray | None = None
    if coi is not None:
        c = np.asarray(coi, dtype=bool)
        if c.shape != (len(obs),):
            raise ValueError(f"coi must have one value per observation row ({len(obs)}), got shape {c.shape}")
        coi_a = c[rows]
    fitted = fit.fitted[rows] if fit.fitted.size == len(obs) else np.full(len(a), np.nan)
    if not np.all(np.isfinite(fitted)):
        d0 = y - fit.score[e]
        cnt = np.maximum(np.bincount(j, minlength=nj), 1)
        bj = np.bincount(j, d0, nj) / cnt
        fitted = fit.score[e] + bj[j]
    r = y - fitted
    K = np.bincount(e, minlength=ne).astype(float)
    Ki = K[e]
    sigma = 1.4826 * float(np.median(np.abs(r))) / np.sqrt(max(1.0 - 1.0 / float(np.median(Ki)), 1e-3))
    sigma = max(sigma, 1e-9)
    u = r / (sigma * np.sqrt(np.maximum(1.0 - 1.0 / Ki, 1e-3)))
    n_j = np.bincount(j, minlength=nj).astype(np.int64)
    enough = n_j >= min_entries
    nan = np.full(nj, np.nan)

    ss = np.bincount(j, u * u, nj)
    consistency = np.where(n_j > 0, np.sqrt(ss / np.maximum(n_j, 1)), np.nan)
    p_cons = np.where(enough, chi2_sf(ss, np.maximum(n_j, 1)), np.nan)

    # leave-one-out panel mean
    tot = np.bincount(e, y, ne)
    loo_ok = Ki >= 2
    m = np.where(loo_ok, (tot[e] - y) / np.maximum(Ki - 1, 1), np.nan)
    jj, yy, mm = j[loo_ok], y[loo_ok], m[loo_ok]
    cnt = np.bincount(jj, minlength=nj).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        my = np.bincount(jj, yy, nj) / cnt
        mmu = np.bincount(jj, mm, nj) / cnt
        dx, dy = mm - mmu[jj], yy - my[jj]
        sxx = np.bincount(jj, dx * dx, nj)
        slope = np.bincount(jj, dx * dy, nj) / sxx
        res = dy - slope[jj] * dx
        s2 = np.bincount(jj, res * res, nj) / (cnt - 2)
        slope_se = np.sqrt(s2 / sxx)
    ok_s = enough & np.isfinite(slope) & (sxx > 0)
    med = float(np.median(slope[ok_s])) if ok_s.any() else 1.0
    med = med if med > 0 else 1.0
    scale = np.where(ok_s, slope / med, np.nan)
    scale_se = np.where(ok_s, slope_se / med, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_scale = np.where(ok_s & (scale_se > 0), 2.0 * norm_sf(np.abs(scale - 1.0) / scale_se), np.nan)

    # agreement: Spearman with the LOO panel mean
    ry, _ = group_average_ranks(jj, yy)
    rm, _ = group_average_ranks(jj, mm)
    rho, nrho = group_pearson(jj, ry, rm, nj)
    with np.errstate(invalid="ignore", divide="ignore"):
        zr = (np.arctanh(0.5) - np.arctanh(np.clip(rho, -0.999999, 0.999999))) * np.sqrt((nrho - 3) / 1.06)
    p_agree = np.where(enough & (nrho > 3) & np.isfinite(rho), norm_sf(zr), np.nan)
    agreement = np.where(nrho >= 3, rho, np.nan)

    # cases
    is_case = np.abs(u) > case_threshold
    cases = np.bincount(j, is_case.astype(float), nj).astype(np.int64)
    excess = np.bincount(j, np.maximum(np.abs(u) - 2.5, 0.0) ** 2, nj).astype(np.float64)
    p0 = float(2.0 * norm_sf(case_threshold))
    p_cases = np.where(enough, binom_sf(cases, n_j, p0), np.nan)

    # conflict of interest
    coi_delta, coi_n, p_coi = nan.copy(), np.zeros(nj, dtype=np.int64), nan.copy()
    if coi_a is not None:
        n1 = np.bincount(j, coi_a.astype(float), nj)
        n0 = n_j - n1
        with np.errstate(invalid="ignore", divide="ignore"):
            m1 = np.bincount(j, r * coi_a, nj) / n1
            m0 = np.bincount(j, r * ~coi_a, nj) / n0
            sj = np.sqrt(np.bincount(j, r * r, nj) / np.maximum(n_j - 1, 1))
            z = (m1 - m0) / (sj * np.sqrt(1 / n1 + 1 / n0))
        has = (n1 > 0) & (n0 > 0)
        coi_delta = np.where(has, m1 - m0, np.nan)
        coi_n = n1.astype(np.int64)
        p_coi = np.where(has & enough, 2.0 * norm_sf(np.abs(z)), np.nan)

    # one BH family over all judge tests
    fam = np.concatenate([p_cons, p_scale, p_agree, p_cases, p_coi])
    q = bh_qvalues(fam).reshape(5, nj)
    sev = fit.judge_effect
    sev_se = fit.judge_se
    with np.errstate(invalid="ignore"):
        notable = (np.abs(sev) > 2 * sev_se) & (np.abs(sev) > 0.5 * sigma)
    flags: list[Flag] = []
    tests = [
        ("erratic", consistency, p_cons, q[0], consistency > 1.5),
        ("compressing", scale, p_scale, q[1], scale < 0.6),
        ("expanding", scale, p_scale, q[1], scale > 1.6),
        ("disagrees", agreement, p_agree, q[2], agreement < 0.5),
        ("deviation_cases", cases.astype(float), p_cases, q[3], cases > 0),
        ("conflict_of_interest", coi_delta, p_coi, q[4], coi_delta > 0),
    ]
    for kind, stat, p, qq, material in tests:
        with np.errstate(invalid="ignore"):
            hit = np.flatnonzero((qq <= alpha) & material)
        for jid in hit.tolist():
            sel = j == jid
            ev_mask = sel & is_case if kind == "deviation_cases" else sel & (np.abs(u) > 2.0)
            if kind == "conflict_of_interest" and coi_a is not None:
                ev_mask = sel & coi_a
            flags.append(
                Flag(
                    "judge",
                    jid,
                    kind,
                    float(stat[jid]),
                    float(p[jid]),
                    float(qq[jid]),
                    f"judge {jid} " + _MEANING[kind].format(s=float(stat[jid])),
                    tuple(int(x) for x in np.unique(e[ev_mask])),
                )
            )
    judges = JudgeReport(
        n_j,
        sev,
        sev_se,
        notable,
        scale,
        scale_se,
        consistency,
        agreement,
        cases,
        excess,
        coi_delta,
        coi_n,
        p_cons,
        p_scale,
        p_agree,
        p_cases,
        p_coi,
    )
    venues = _venue_report(obs, fit) if obs.venue is not None else None
    notes: list[str] = list(fit.warnings)
    if venues is not None:
        for v in np.flatnonzero(~venues.linked & (venues.n_entries > 0)).tolist():
            if fit.n_components > 1:
                flags.append(
                    Flag(
                        "venue",
                        v,
                        "unlinked",
                        float("nan"),
                        float("nan"),
                        float("nan"),
                        f"venue {v} shares no judge or anchor entry with any other venue: its "
                        "scores are compared with other venues only by assumption.",
                    )
                )
        for v in np.flatnonzero(venues.icc_k < 0.75).tolist():
            flags.append(
                Flag(
                    "venue",
                    v,
                    "low_reliability",
                    float(venues.icc_k[v]),
                    float("nan"),
                    float("nan"),
                    f"venue {v}'s panel mean is not very reliable (ICC(2,k) = {venues.icc_k[v]:.2f} "
                    "< 0.75): its judges disagree on the order of entries; grades near a "
                    "boundary there deserve a second look.",
                )
            )
    return Diagnostics(judges, venues, tuple(flags), sigma, alpha, tuple(notes))


def _venue_report(obs: Scores, fit: Calibration) -> VenueReport:
    a = obs.active()
    assert a.venue is not None
    nv = obs.n_venues
    icc1, icck, W, Wp = (np.full(nv, np.nan) for _ in range(4))
    n_ent = np.zeros(nv, dtype=np.int64)
    n_jud = np.zeros(nv, dtype=np.int64)
    vcomp = np.full(nv, -1, dtype=np.int64)
    ec = fit.component
    comp_venues: dict[int, set[int]] = {}
    for v in range(nv):  # loop over venues (reporting, not a hot path)
        sel = a.venue == v
        if not sel.any():
            continue
        ents, ei = np.unique(a.entry[sel], return_inverse=True)
        juds, ji = np.unique(a.judge[sel], return_inverse=True)
        n_ent[v], n_jud[v] = ents.size, juds.size
        comps = np.unique(ec[ents][ec[ents] >= 0])
        vcomp[v] = int(comps[0]) if comps.size else -1
        for c in comps.tolist():
            comp_venues.setdefault(c, set()).add(v)
        mat = np.full((ents.size, juds.size), np.nan)
        mat[ei, ji] = a.value[sel]
        cover = np.isfinite(mat).mean(axis=0)
        mat = mat[:, cover >= 0.9]
        mat = mat[np.all(np.isfinite(mat), axis=1)]
        n, k = mat.shape
        if n < 3 or k < 2:
            continue
        grand = mat.mean()
        rm, cm = mat.mean(axis=1), mat.mean(axis=0)
        msr = k * np.sum((rm - grand) ** 2) / (n - 1)
        msc = n * np.sum((cm - grand) ** 2) / (k - 1)
        sse = np.sum((mat - rm[:, None] - cm[None, :] + grand) ** 2)
        mse = sse / ((n - 1) * (k - 1))
        den1 = msr + (k - 1) * mse + k * (msc - mse) / n
        denk = msr + (msc - mse) / n
        icc1[v] = (msr - mse) / den1 if den1 > 0 else np.nan
        icck[v] = (msr - mse) / denk if denk > 0 else np.nan
        grp = np.repeat(np.arange(k), n)
        ranks, ties = group_average_ranks(grp, mat.T.ravel())
        R = ranks.reshape(k, n).sum(axis=0)
        S = float(np.sum((R - R.mean()) ** 2))
        # tie correction: sum over judges and tie groups of t^3 - t (each tied obs counted once per group)
        T = float(np.sum((ties**3 - ties) / ties))
        den = k * k * (n**3 - n) - k * T
        W[v] = 12.0 * S / den if den > 0 else np.nan
        Wp[v] = float(chi2_sf(k * (n - 1) * W[v], n - 1)) if np.isfinite(W[v]) else np.nan
    linked = np.array([vcomp[v] >= 0 and len(comp_venues.get(int(vcomp[v]), set())) > 1 for v in range(nv)])
    shift = np.where(
        np.isfinite(fit.venue_shift),
        fit.venue_shift,
        fit.venue_effect if fit.options.get("venue_effects") else np.nan,
    )
    return VenueReport(n_ent, n_jud, icc1, icck, W, Wp, shift, fit.venue_shift_se, vcomp, linked)
