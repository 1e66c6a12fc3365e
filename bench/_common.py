"""Shared pieces of the scoring benchmarks: the generative model of score-calibration.md §3.2,
the methods under test (plus an oracle) and the metrics."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scoring

SHARES = (0.1, 0.2, 0.3)  # quotas 10 / 20 / 30 / rest
CUTS = (90.0, 85.0, 80.0)


@dataclass(frozen=True)
class Params:
    """One design cell (everything in entry-quality SD units, as in §3.2)."""

    N: int = 600
    V: int = 12
    K: int = 7
    tau: float = 0.3  # venue quality SD (non-random routing)
    sigma_b: float = 0.4  # judge severity SD
    sigma_a: float = 0.2  # log judge-scale SD
    sigma_e: float = 0.5  # judge noise SD
    sigma_c: float = 0.0  # venue-wide shift SD
    shared: int = 1  # judges per venue who also sit in the next venue(s); >= K means fully crossed
    anchors: int = 0  # extra entries scored by every judge in every venue
    rho: float = 0.7  # document-review correlation with quality
    favoritism: bool = False  # 1 judge/venue +2 on 3 entries; 5% erratic (x3 noise); 5% compressors (a=0.3)
    hetero: bool = False  # less noise for top entries: h(q) = 1.3 - 0.3 Phi(q)
    step: float = 0.5
    grading: str = "quotas"  # or "thresholds" (90/85/80)


@dataclass
class Sim:
    obs: scoring.Scores
    q: np.ndarray  # true quality of the N real entries
    venue: np.ndarray  # venue of each real entry
    doc: scoring.Scores  # document review (central pool)
    b: np.ndarray
    a: np.ndarray
    c: np.ndarray
    noise_sd: np.ndarray
    kind: np.ndarray  # per judge: 0 clean, 1 favoritism, 2 erratic, 3 compressor
    coi: np.ndarray  # per observation: the favoritism pairs (a declared relationship)
    n_real: int
    extra: dict[str, Any] = field(default_factory=dict)


def _phi(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def generate(p: Params, rng: np.random.Generator) -> Sim:
    """Draw one contest from the §3.2 generative model."""
    N, V, K = p.N, p.V, p.K
    per = N // V
    venue = np.repeat(np.arange(V), per)
    venue = np.r_[venue, np.arange(N - venue.size) % V]
    delta = rng.normal(0, p.tau, V)
    q = rng.standard_normal(N) + delta[venue]
    # panels
    if p.shared >= K:
        panels = np.tile(np.arange(K), (V, 1))
    else:
        panels = np.arange(V * K).reshape(V, K).copy()
        for s in range(p.shared):  # seat s of venue v is taken by a home judge of venue v+1+s
            panels[:, s] = panels[(np.arange(V) + 1 + s) % V, K - 1 - s]
    nj = V * K
    b = rng.normal(0, p.sigma_b, nj)
    a = np.exp(rng.normal(0, p.sigma_a, nj))
    noise_sd = np.full(nj, p.sigma_e)
    kind = np.zeros(nj, dtype=np.int64)
    used = np.unique(panels)
    if p.favoritism:
        nsel = max(1, round(0.05 * used.size))
        perm = rng.permutation(used)
        erratic, comp = perm[:nsel], perm[nsel : 2 * nsel]
        noise_sd[erratic] *= 3.0
        a[comp] = 0.3
        kind[erratic], kind[comp] = 2, 3
    c = rng.normal(0, p.sigma_c, V)
    # anchors: A extra entries scored once by every judge, in the venue where the judge first sits
    A = p.anchors
    qa = rng.standard_normal(A)
    ent = np.repeat(np.arange(N), K)
    jud = panels[venue].ravel()
    ven = np.repeat(venue, K)
    if A:
        first_venue = np.full(nj, -1)
        for v in range(V):  # small loop over venues to find each judge's first seat
            for jj in panels[v]:
                if first_venue[jj] < 0:
                    first_venue[jj] = v
        aj = np.flatnonzero(first_venue >= 0)
        ent = np.r_[ent, np.repeat(N + np.arange(A), aj.size)]
        jud = np.r_[jud, np.tile(aj, A)]
        ven = np.r_[ven, np.tile(first_venue[aj], A)]
    qq = np.r_[q, qa]
    h = 1.3 - 0.3 * _phi(qq) if p.hetero else np.ones(qq.size)
    eps = rng.standard_normal(ent.size) * noise_sd[jud] * np.sqrt(h[ent])
    F = np.zeros(ent.size)
    coi = np.zeros(ent.size, dtype=bool)
    if p.favoritism:
        for v in range(V):  # one favoring judge per venue, +2 on 3 of the venue's entries
            jv = panels[v][rng.integers(0, K)]
            rows = np.flatnonzero((ven == v) & (jud == jv) & (ent < N))
            pick = rng.choice(rows, size=min(3, rows.size), replace=False)
            F[pick] += 2.0
            coi[pick] = True
            if kind[jv] == 0:
                kind[jv] = 1
    latent = a[jud] * qq[ent] + b[jud] + c[ven] + eps + F
    y = np.clip(np.round((80 + 5 * latent) / p.step) * p.step, 60, 100)
    obs = scoring.Scores(ent, jud, y, ven, n_judges=nj)
    # document review: 2 reviewers per entry from a central pool of N/10
    R = max(N // 10, 2)
    br = rng.normal(0, p.sigma_b, R)
    u = rng.standard_normal(N)
    rev = _two_reviewers(N, R, rng)
    d_ent = np.repeat(np.arange(N), 2)
    d_rev = rev.ravel()
    dval = 80 + 5 * (
        p.rho * q[d_ent]
        + math.sqrt(1 - p.rho**2) * u[d_ent]
        + br[d_rev]
        + rng.normal(0, p.sigma_e, d_ent.size)
    )
    dval = np.clip(np.round(dval / p.step) * p.step, 60, 100)
    doc = scoring.Scores(d_ent, d_rev, dval, n_entries=N + A, n_judges=R)
    return Sim(obs, q, venue, doc, b, a, c, noise_sd, kind, coi, N)


def _two_reviewers(N: int, R: int, rng: np.random.Generator) -> np.ndarray:
    r1 = rng.integers(0, R, N)
    r2 = (r1 + rng.integers(1, R, N)) % R
    return np.stack([r1, r2], axis=1)


# ----------------------------------------------------------------------------------------------
# methods


def oracle(sim: Sim) -> np.ndarray:
    """Knows every judge's severity, scale and noise and every venue shift: weighted LS of the
    de-biased latent scores. The limit no method can beat (rounding and clipping remain)."""
    o = sim.obs
    z = (o.value - 80.0) / 5.0 - sim.b[o.judge] - sim.c[o.venue]
    w = sim.a[o.judge] / sim.noise_sd[o.judge] ** 2
    num = np.bincount(o.entry, w * z, o.n_entries)
    den = np.bincount(o.entry, w * sim.a[o.judge], o.n_entries)
    return 80 + 5 * num / den


METHODS = ("mean", "trimmed", "median", "judge_z", "venue_z", "additive", "calibrated", "oracle")


def run_method(method: str, sim: Sim, doc_fit: scoring.Calibration | None) -> tuple[np.ndarray, Any]:
    """Score the contest with ``method``; returns the scores of all entries (incl. anchors) and the fit."""
    if method == "oracle":
        return oracle(sim), None
    if method == "calibrated":
        yard = None if doc_fit is None else doc_fit.score
        fit = scoring.calibrate(sim.obs, "calibrated", yardstick=yard)
        return fit.score, fit
    fit = scoring.calibrate(sim.obs, method, random_assignment=True)
    return fit.score, fit


# ----------------------------------------------------------------------------------------------
# metrics


def rule_for(p: Params) -> scoring.Quotas | scoring.Thresholds:
    if p.grading == "quotas":
        return scoring.Quotas(
            shares=SHARES, labels=("I", "II", "III"), floor=None, decimals=None, ties="order"
        )
    return scoring.Thresholds(cuts=CUTS, labels=("I", "II", "III"), floor=None, decimals=None)


def true_grades(sim: Sim, p: Params) -> np.ndarray:
    return scoring.assign_grades(80 + 5 * sim.q, rule_for(p)).code


def ranks(x: np.ndarray) -> np.ndarray:
    r = np.empty(x.size)
    r[np.argsort(x, kind="stable")] = np.arange(x.size)
    return r


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def kendall_tau_b(x: np.ndarray, y: np.ndarray, max_n: int = 1500) -> float:
    """Kendall's tau-b (O(n^2) pairs; skipped above ``max_n``)."""
    n = x.size
    if n > max_n:
        return float("nan")
    iu = np.triu_indices(n, 1)
    dx = np.sign(x[iu[0]] - x[iu[1]])
    dy = np.sign(y[iu[0]] - y[iu[1]])
    num = float(np.sum(dx * dy))
    den = math.sqrt(float(np.sum(dx != 0)) * float(np.sum(dy != 0)))
    return num / den if den else float("nan")


def weighted_kappa(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Linear-weighted Cohen's kappa between two gradings with codes 0..k-1."""
    m = np.bincount(a * k + b, minlength=k * k).reshape(k, k) / a.size
    w = 1 - np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    pe = np.outer(m.sum(1), m.sum(0))
    po, pee = float((w * m).sum()), float((w * pe).sum())
    return (po - pee) / (1 - pee) if pee < 1 else float("nan")


def grade_metrics(score: np.ndarray, sim: Sim, p: Params, tg: np.ndarray) -> dict[str, float]:
    s = score[: sim.n_real]
    q = sim.q
    g = scoring.assign_grades(s, rule_for(p)).code
    k = len(SHARES) + 1
    # venue fairness: put estimates on the quality scale (match mean and SD), compare venue means
    z = (s - s.mean()) / s.std() * q.std() + q.mean()
    V = int(sim.venue.max()) + 1
    cnt = np.bincount(sim.venue, minlength=V)
    dv = np.bincount(sim.venue, z - q, V) / cnt
    first_true = tg == 0
    first_est = g == 0
    return {
        "spearman": spearman(s, q),
        "kendall": kendall_tau_b(s, q),
        "misclass": float(np.mean(g != tg)),
        "kappa": weighted_kappa(np.minimum(tg, k - 1), np.minimum(g, k - 1), k),
        "first_prize_err": float(np.sum(first_true ^ first_est)) / s.size,
        "venue_rmse": float(np.sqrt(np.mean((dv - dv.mean()) ** 2))),
    }


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count half); NaN when a class is empty."""
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float(np.mean(d > 0) + 0.5 * np.mean(d == 0))


def drop_judge(obs: scoring.Scores, j: int) -> scoring.Scores:
    keep = obs.judge != j
    return scoring.Scores(
        obs.entry[keep],
        obs.judge[keep],
        obs.value[keep],
        None if obs.venue is None else obs.venue[keep],
        n_entries=obs.n_entries,
        n_judges=obs.n_judges,
    )


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def with_(p: Params, **kw: Any) -> Params:
    return replace(p, **kw)
