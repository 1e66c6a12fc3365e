"""Fairness benchmark of the scoring methods (score-calibration.md §3.2).

Simulates contests with known truth, scores them with every method plus an oracle that knows the
true judge and venue effects, and prints one table per scenario: means and the 5th-percentile /
worst case over replications.

    python bench/fairness.py --quick          # S1-S8, 40 replications, < 2 minutes on 2 cores
    python bench/fairness.py --reps 500       # the full design: S1-S8 plus the one-at-a-time sweeps
    python bench/fairness.py --quick --json   # ... and a JSON line of headline figures at the end
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    METHODS,
    SHARES,
    Params,
    auc,
    drop_judge,
    generate,
    grade_metrics,
    run_method,
    scoring,
    true_grades,
    with_,
)

BASE = Params()
SCENARIOS: dict[str, Params] = {
    "S1 null": with_(BASE, tau=0.0, sigma_c=0.0, shared=0),
    "S2 routed venues": with_(BASE, tau=0.6, shared=0),
    "S3 routed + linked": with_(BASE, tau=0.6, shared=2),
    "S4 venue-wide shift": with_(BASE, tau=0.3, sigma_c=0.3, shared=2),
    "S5 S4 + anchors": with_(BASE, tau=0.3, sigma_c=0.3, shared=2, anchors=3),
    "S6 favoritism": with_(BASE, favoritism=True),
    "S7 small panels, strong severity": with_(BASE, K=5, sigma_b=0.8),
    "S8 disconnected + routed + shift": with_(BASE, tau=0.6, sigma_c=0.3, shared=0),
}
SWEEPS: dict[str, Params] = {
    "base": BASE,
    "N=120": with_(BASE, N=120),
    "N=3000": with_(BASE, N=3000),
    "V=4": with_(BASE, V=4),
    "V=40": with_(BASE, V=40, N=600),
    "K=5": with_(BASE, K=5),
    "K=9": with_(BASE, K=9),
    "tau=0": with_(BASE, tau=0.0),
    "tau=0.6": with_(BASE, tau=0.6),
    "sigma_b=0.2": with_(BASE, sigma_b=0.2),
    "sigma_b=0.8": with_(BASE, sigma_b=0.8),
    "sigma_a=0": with_(BASE, sigma_a=0.0),
    "sigma_a=0.4": with_(BASE, sigma_a=0.4),
    "sigma_e=0.3": with_(BASE, sigma_e=0.3),
    "sigma_e=0.8": with_(BASE, sigma_e=0.8),
    "sigma_c=0.3": with_(BASE, sigma_c=0.3),
    "shared=0": with_(BASE, shared=0),
    "shared=2": with_(BASE, shared=2),
    "shared=K (crossed)": with_(BASE, shared=7),
    "anchors=2": with_(BASE, anchors=2),
    "anchors=5": with_(BASE, anchors=5),
    "rho=0.5": with_(BASE, rho=0.5),
    "rho=0.9": with_(BASE, rho=0.9),
    "favoritism": with_(BASE, favoritism=True),
    "thresholds 90/85/80": with_(BASE, grading="thresholds"),
    "step=0.1": with_(BASE, step=0.1),
    "step=1": with_(BASE, step=1.0),
    "heteroscedastic": with_(BASE, hetero=True),
}
METRICS = ("spearman", "kendall", "misclass", "kappa", "first_prize_err", "venue_rmse", "flip", "ms")
HIGHER_IS_BETTER = {"spearman", "kendall", "kappa"}


def one_rep(task: tuple[str, Params, int, int, int]) -> dict[str, Any]:
    """All methods on one simulated contest."""
    _name, p, seed, cell, rep = task
    rng = np.random.default_rng([seed, cell, rep])
    sim = generate(p, rng)
    tg = true_grades(sim, p)
    t0 = time.perf_counter()
    doc_fit = scoring.calibrate(sim.doc, "calibrated")
    doc_ms = 1000 * (time.perf_counter() - t0)
    # leave-one-judge-out: a random venue and a random judge of its panel
    v0 = int(rng.integers(0, p.V))
    rows = (sim.obs.venue == v0) & (sim.obs.entry < sim.n_real)
    j0 = int(rng.choice(np.unique(sim.obs.judge[rows])))
    in_v0 = sim.venue == v0
    dropped = drop_judge(sim.obs, j0)
    rule = _rule(p)
    out: dict[str, Any] = {"methods": {}}
    for m in METHODS:
        t = time.perf_counter()
        score, fit = run_method(m, sim, doc_fit)
        ms = 1000 * (time.perf_counter() - t) + (doc_ms if m == "calibrated" else 0.0)
        met = grade_metrics(score, sim, p, tg)
        g_full = scoring.assign_grades(score[: sim.n_real], rule).code
        sim2 = _with_obs(sim, dropped)
        score2, _ = run_method(m, sim2, doc_fit)
        g_drop = scoring.assign_grades(score2[: sim.n_real], rule).code
        met["flip"] = float(np.mean(g_full[in_v0] != g_drop[in_v0]))
        met["ms"] = ms
        out["methods"][m] = met
        if m == "calibrated":
            out["calibrated_extra"] = _uncertainty_and_flags(sim, p, fit, doc_fit, tg, rule)
    return out


def _rule(p: Params) -> Any:
    from _common import rule_for

    return rule_for(p)


def _with_obs(sim: Any, obs: scoring.Scores) -> Any:
    from dataclasses import replace

    return replace(sim, obs=obs)


def _uncertainty_and_flags(
    sim: Any, p: Params, fit: scoring.Calibration, doc_fit: scoring.Calibration, tg: np.ndarray, rule: Any
) -> dict[str, float]:
    n = sim.n_real
    probs = scoring.grade_probabilities(fit, None, rule, draws=200, seed=1)[:n]
    k = len(SHARES) + 1
    P = probs[:, :k]
    Y = np.eye(k)[np.minimum(tg, k - 1)]
    brier = float(np.mean(np.sum((P - Y) ** 2, axis=1)))
    base = np.bincount(np.minimum(tg, k - 1), minlength=k) / n
    brier0 = float(np.mean(np.sum((base[None, :] - Y) ** 2, axis=1)))
    conf = P.max(axis=1) >= 0.8
    correct = np.argmax(P, axis=1) == np.minimum(tg, k - 1)
    extra = {
        "brier": brier,
        "brier_const": brier0,
        "brier_gain": 1 - brier / brier0,
        "share_confident": float(conf.mean()),
        "confident_correct": float(correct[conf].mean()) if conf.any() else float("nan"),
    }
    if p.favoritism:
        rep = scoring.diagnose(sim.obs, fit)
        jr = rep.judges
        used = np.unique(sim.obs.judge)
        kind = sim.kind[used]
        clean = used[kind == 0]
        stats = {1: jr.deviation_excess, 2: jr.consistency, 3: -jr.scale}
        for kd, label in ((1, "favoritism"), (2, "erratic"), (3, "compressor")):
            extra[f"auc_{label}"] = auc(stats[kd][used[kind == kd]], stats[kd][clean])
        flagged = set(rep.flagged_judges().tolist())
        extra["false_flag_rate"] = float(np.mean([j in flagged for j in clean]))
        for kd, label in ((1, "favoritism"), (2, "erratic"), (3, "compressor")):
            ids = used[kind == kd]
            extra[f"detected_{label}"] = (
                float(np.mean([j in flagged for j in ids])) if ids.size else float("nan")
            )
    return extra


def summarize(reps: list[dict[str, Any]]) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for m in METHODS:
        res[m] = {}
        for k in METRICS:
            v = np.array([r["methods"][m][k] for r in reps], dtype=float)
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            good_tail = 5 if k in HIGHER_IS_BETTER else 95
            res[m][k] = {
                "mean": float(v.mean()),
                "tail": float(np.percentile(v, good_tail)),
                "worst": float(v.min() if k in HIGHER_IS_BETTER else v.max()),
                "median": float(np.median(v)),
            }
    if "calibrated_extra" in reps[0]:
        keys = reps[0]["calibrated_extra"].keys()
        res["calibrated_extra"] = {
            k: float(np.nanmean([r["calibrated_extra"][k] for r in reps])) for k in keys
        }
    # paired differences calibrated - trimmed (per replication)
    dm = np.array(
        [r["methods"]["calibrated"]["misclass"] - r["methods"]["trimmed"]["misclass"] for r in reps]
    )
    ds = np.array(
        [r["methods"]["calibrated"]["spearman"] - r["methods"]["trimmed"]["spearman"] for r in reps]
    )
    res["paired"] = {
        "misclass_diff_p95": float(np.percentile(dm, 95)),
        "misclass_diff_mean": float(dm.mean()),
        "spearman_diff_p5": float(np.percentile(ds, 5)),
        "spearman_diff_mean": float(ds.mean()),
    }
    return res


def print_table(name: str, p: Params, s: dict[str, Any], reps: int, seed: int) -> None:
    print(
        f"\n=== {name} === ({reps} replications, seed {seed}; N={p.N} V={p.V} K={p.K} tau={p.tau} "
        f"sigma_b={p.sigma_b} sigma_a={p.sigma_a} sigma_e={p.sigma_e} sigma_c={p.sigma_c} shared={p.shared} "
        f"anchors={p.anchors} rho={p.rho} fav={p.favoritism} step={p.step} {p.grading})"
    )
    print(
        f"{'method':<11} {'Spearman mean (p5)':>19} {'Kendall':>8} {'misclass% mean (p95/worst)':>27} "
        f"{'kappa':>6} {'1st-prize err%':>14} {'venue RMSE':>10} {'LOJO flip%':>10} {'ms':>7}"
    )
    for m in METHODS:
        r = s[m]

        def g(k: str, f: str = "mean", scale: float = 1.0, r: dict[str, Any] = r) -> float:
            return r[k][f] * scale if k in r else float("nan")

        print(
            f"{m:<11} {g('spearman'):>10.4f} ({g('spearman', 'tail'):.4f}) {g('kendall'):>8.4f} "
            f"{g('misclass', scale=100):>10.2f} "
            f"({g('misclass', 'tail', 100):5.2f}/{g('misclass', 'worst', 100):5.2f})"
            f"      {g('kappa'):>6.3f} {g('first_prize_err', scale=100):>14.2f} {g('venue_rmse'):>10.3f} "
            f"{g('flip', scale=100):>10.2f} {g('ms', 'median'):>7.1f}"
        )
    t, o, c = (s[m]["misclass"]["mean"] for m in ("trimmed", "oracle", "calibrated"))
    gap = (t - c) / (t - o) if t - o > 1e-9 else float("nan")
    rel = (t - c) / t if t > 0 else float("nan")
    pr = s["paired"]
    print(
        f"calibrated vs trimmed: misclassification {100 * rel:+.1f}% relative reduction; gap to oracle "
        "closed "
        f"{100 * gap:.0f}%; paired per-replication difference: misclass p95 "
        f"{100 * pr['misclass_diff_p95']:+.2f} "
        f"points, Spearman p5 {pr['spearman_diff_p5']:+.4f}"
    )
    ex = s.get("calibrated_extra", {})
    if ex:
        line = (
            f"calibrated uncertainty: Brier {ex['brier']:.4f} vs constant {ex['brier_const']:.4f} "
            f"({100 * ex['brier_gain']:.1f}% better); P>=0.8 for {100 * ex['share_confident']:.1f}% of "
            "entries, "
            f"{100 * ex['confident_correct']:.1f}% of them correctly graded"
        )
        print(line)
        if "auc_favoritism" in ex:
            print(
                f"judge flags (calibrated + diagnose): AUC favoritism {ex['auc_favoritism']:.3f}, erratic "
                f"{ex['auc_erratic']:.3f}, compressor {ex['auc_compressor']:.3f}; flagged after BH: "
                "favoritism "
                f"{100 * ex['detected_favoritism']:.0f}%, erratic {100 * ex['detected_erratic']:.0f}%, "
                "compressor "
                f"{100 * ex['detected_compressor']:.0f}%; false flags {100 * ex['false_flag_rate']:.1f}% of "
                "clean judges"
            )


def run_cells(cells: dict[str, Params], reps: int, seed: int, jobs: int, offset: int) -> dict[str, Any]:
    tasks = [
        (name, p, seed, offset + ci, r) for ci, (name, p) in enumerate(cells.items()) for r in range(reps)
    ]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            results = list(ex.map(one_rep, tasks, chunksize=1))
    else:
        results = [one_rep(t) for t in tasks]
    out: dict[str, Any] = {}
    for ci, name in enumerate(cells):
        out[name] = summarize(results[ci * reps : (ci + 1) * reps])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="S1-S8 only, 40 replications (< 2 minutes)")
    ap.add_argument("--reps", type=int, default=None, help="replications per cell (default 500; quick 20)")
    ap.add_argument(
        "--sweep-reps", type=int, default=None, help="replications per sweep cell (default = --reps)"
    )
    ap.add_argument("--no-sweeps", action="store_true", help="named scenarios only")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", action="store_true", help="print a JSON line of headline figures last")
    args = ap.parse_args()
    reps = args.reps or (40 if args.quick else 500)
    t0 = time.perf_counter()
    scen = run_cells(SCENARIOS, reps, args.seed, args.jobs, 0)
    for name, p in SCENARIOS.items():
        print_table(name, p, scen[name], reps, args.seed)
    sweeps: dict[str, Any] = {}
    if not args.quick and not args.no_sweeps:
        sreps = args.sweep_reps or reps
        sweeps = run_cells(SWEEPS, sreps, args.seed, args.jobs, 100)
        print(
            f"\n=== one-at-a-time sweeps around the base case ({sreps} replications each, seed {args.seed}) "
            "==="
        )
        print(
            f"{'cell':<22}" + "".join(f"{m:>10}" for m in METHODS) + "   (mean misclassification %; "
            "worst method-minus-trimmed)"
        )
        for name in SWEEPS:
            mis = {m: 100 * sweeps[name][m]["misclass"]["mean"] for m in METHODS}
            worst = max(mis[m] - mis["trimmed"] for m in METHODS if m != "oracle")
            print(f"{name:<22}" + "".join(f"{mis[m]:>10.2f}" for m in METHODS) + f"   {worst:+.2f}")
    elapsed = time.perf_counter() - t0
    print(
        f"\nseed {args.seed}; {reps} replications per scenario; elapsed {elapsed:.1f} s with {args.jobs} "
        "worker(s)"
    )
    headline = _headline(scen, sweeps, reps, args.seed, elapsed)
    _print_targets(headline)
    if args.json:
        print(json.dumps(headline, sort_keys=True))


def _headline(
    scen: dict[str, Any], sweeps: dict[str, Any], reps: int, seed: int, elapsed: float
) -> dict[str, Any]:
    h: dict[str, Any] = {"seed": seed, "reps": reps, "elapsed_s": round(elapsed, 1), "scenarios": {}}
    for name, s in scen.items():
        key = name.split()[0]
        h["scenarios"][key] = {
            m: {k: round(s[m][k]["mean"], 5) for k in ("misclass", "spearman", "venue_rmse", "flip")}
            | {
                "misclass_p95": round(s[m]["misclass"]["tail"], 5),
                "spearman_p5": round(s[m]["spearman"]["tail"], 5),
            }
            for m in METHODS
        }
        h["scenarios"][key]["paired_calibrated_minus_trimmed"] = {
            k: round(v, 5) for k, v in s["paired"].items()
        }
        if "calibrated_extra" in s:
            h["scenarios"][key]["calibrated_extra"] = {
                k: round(v, 4) for k, v in s["calibrated_extra"].items()
            }
    if sweeps:
        h["sweeps_worst_vs_trimmed_points"] = {
            m: round(
                max(
                    100 * (sw[m]["misclass"]["mean"] - sw["trimmed"]["misclass"]["mean"])
                    for sw in sweeps.values()
                ),
                2,
            )
            for m in METHODS
            if m != "oracle"
        }
    return h


def _print_targets(h: dict[str, Any]) -> None:
    sc = h["scenarios"]
    print("\n--- targets (issue 3) ---")
    s1 = sc["S1"]
    d_mis = 100 * (s1["calibrated"]["misclass_p95"] - s1["trimmed"]["misclass_p95"])
    d_sp = s1["calibrated"]["spearman_p5"] - s1["trimmed"]["spearman_p5"]
    print(
        f"S1 never worse than trimmed (at p95/p5 over replications): misclass {d_mis:+.2f} points (target "
        "<= +0.5), "
        f"Spearman {d_sp:+.4f} (target >= -0.003) -> {'MET' if d_mis <= 0.5 and d_sp >= -0.003 else 'MISSED'}"
    )
    for key, target in (("S3", 15), ("S6", 15), ("S4", 25), ("S5", 25)):
        t, c = sc[key]["trimmed"]["misclass"], sc[key]["calibrated"]["misclass"]
        rel = 100 * (t - c) / t
        print(
            f"{key}: {rel:.1f}% fewer misclassified than trimmed (target >= {target}%) -> "
            f"{'MET' if rel >= target else 'MISSED'}"
        )
    for key in sc:
        t, c, o = (sc[key][m]["misclass"] for m in ("trimmed", "calibrated", "oracle"))
        gap = (t - c) / (t - o) if t - o > 1e-9 else float("nan")
        print(
            f"{key}: gap trimmed->oracle closed {100 * gap:.0f}% (target >= 60%) -> "
            f"{'MET' if gap >= 0.6 else 'MISSED'}"
        )
    if "sweeps_worst_vs_trimmed_points" in h:
        for m, w in h["sweeps_worst_vs_trimmed_points"].items():
            print(
                f"worst grid cell, {m} minus trimmed: {w:+.2f} points (target <= +2) -> "
                f"{'MET' if w <= 2 else 'MISSED'}"
            )
    ex = [sc[k]["calibrated_extra"] for k in sc if "calibrated_extra" in sc[k]]
    bg = float(np.mean([e["brier_gain"] for e in ex]))
    cc = float(np.nanmin([e["confident_correct"] for e in ex]))
    print(
        f"Brier gain vs constant (mean over scenarios) {100 * bg:.1f}% (target >= 30%); worst scenario "
        "share of "
        f"P>=0.8 entries correctly graded {100 * cc:.1f}% (target >= 90%)"
    )
    s6 = sc["S6"]["calibrated_extra"]
    print(
        f"S6 flag AUC favoritism {s6['auc_favoritism']:.3f} erratic {s6['auc_erratic']:.3f} compressor "
        f"{s6['auc_compressor']:.3f} (target >= 0.9); false flags {100 * s6['false_flag_rate']:.1f}% "
        "(target <= 5%)"
    )


if __name__ == "__main__":
    main()
