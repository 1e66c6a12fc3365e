"""Speed of the scoring engine, against scipy's sparse least squares on the same data, same run.

    python bench/speed.py            # medians of repeated runs
    python bench/speed.py --json     # ... and a JSON line of headline figures at the end

Data: the fairness benchmark's generative model (bench/_common.py) with K=9 judges per panel,
50 entries per venue and 2 judges per venue shared with neighbouring venues.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Params, generate, scoring


def median_time(fn: Any, repeats: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


def lsqr_additive(obs: scoring.Scores) -> Any:
    """The obvious way to fit y = mu_i + b_j by least squares: scipy.sparse.linalg.lsqr."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import lsqr

    n = len(obs)
    rows = np.r_[np.arange(n), np.arange(n)]
    cols = np.r_[obs.entry, obs.n_entries + obs.judge]
    A = csr_matrix((np.ones(2 * n), (rows, cols)), shape=(n, obs.n_entries + obs.n_judges))
    y = obs.value - obs.value.mean()

    def solve() -> Any:
        return lsqr(A, y, atol=1e-8, btol=1e-8, iter_lim=10_000)

    return solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {
        "seed": args.seed,
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpu",
        "numpy": np.__version__,
    }
    print(
        f"numpy {np.__version__}; {os.cpu_count()} CPUs; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"
    )
    for n in (3000, 30000):
        p = Params(N=n, V=n // 50, K=9, shared=2)
        sim = generate(p, np.random.default_rng(args.seed))
        obs = sim.obs
        reps = args.repeats if n <= 3000 else max(3, args.repeats // 3)
        t_cal, _ = median_time(lambda obs=obs: scoring.calibrate(obs), reps)
        t_add, _ = median_time(lambda obs=obs: scoring.calibrate(obs, "additive"), reps)
        t_trim, _ = median_time(lambda obs=obs: scoring.calibrate(obs, "trimmed"), reps)
        solve = lsqr_additive(obs)
        t_lsqr, _ = median_time(solve, reps)
        iters = int(solve()[2])
        fit = scoring.calibrate(obs)
        print(
            f"\n{n} entries x 9 judges ({len(obs)} scores, {obs.n_judges} judges, {obs.n_venues} venues), "
            f"medians of {reps} runs:"
        )
        print(f"  calibrated        {1000 * t_cal:8.1f} ms  ({fit.iterations} EM iterations)")
        print(f"  additive (LS)     {1000 * t_add:8.1f} ms")
        print(f"  trimmed mean      {1000 * t_trim:8.1f} ms")
        print(f"  scipy lsqr (LS)   {1000 * t_lsqr:8.1f} ms  ({iters} iterations; matrix already built)")
        print(f"  ratio calibrated / lsqr = {t_cal / t_lsqr:.2f}   additive / lsqr = {t_add / t_lsqr:.2f}")
        key = f"n{n}"
        out[key] = {
            "calibrated_ms": round(1000 * t_cal, 1),
            "additive_ms": round(1000 * t_add, 1),
            "trimmed_ms": round(1000 * t_trim, 1),
            "lsqr_ms": round(1000 * t_lsqr, 1),
            "ratio_calibrated_to_lsqr": round(t_cal / t_lsqr, 3),
            "ratio_additive_to_lsqr": round(t_add / t_lsqr, 3),
        }
        if n == 3000:
            rule = scoring.Quotas(shares=(0.1, 0.2, 0.3), floor=None)
            t_prob, _ = median_time(
                lambda fit=fit, rule=rule: scoring.grade_probabilities(fit, None, rule, draws=1000, seed=0),
                max(3, reps // 3),
            )
            trimmed = scoring.calibrate(obs, "trimmed")
            t_boot, _ = median_time(
                lambda tr=trimmed, rule=rule: scoring.grade_probabilities(tr, None, rule, draws=1000, seed=0),
                3,
            )
            print(f"  grade probabilities, 1000 posterior draws: {1000 * t_prob:8.1f} ms")
            print(f"  grade probabilities, 1000 judge-bootstrap draws (trimmed): {1000 * t_boot:8.1f} ms")
            out[key]["probabilities_1000_ms"] = round(1000 * t_prob, 1)
            out[key]["bootstrap_1000_ms"] = round(1000 * t_boot, 1)
    print(
        "\ntargets: calibrated 3,000x9 <= 100 ms; 30,000x9 <= 1 s; 1,000-draw probabilities <= 2 s; "
        "calibrated no slower than lsqr (ratio <= 1)"
    )
    if args.json:
        print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
