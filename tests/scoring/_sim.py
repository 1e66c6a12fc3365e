"""A tiny simulator for tests (the full generative model lives in bench/fairness.py)."""

from __future__ import annotations

import numpy as np

import scoring


def simulate(
    seed: int,
    n_venues: int = 4,
    per_venue: int = 12,
    k: int = 5,
    shared: int = 1,
    sigma_b: float = 2.0,
    sigma_e: float = 2.0,
) -> tuple[scoring.Scores, np.ndarray]:
    """Venues of ``per_venue`` entries, panels of ``k``; ``shared`` judges per venue also sit next door."""
    rng = np.random.default_rng(seed)
    ne = n_venues * per_venue
    venue = np.arange(ne) // per_venue
    q = 80 + 5 * rng.standard_normal(ne)
    nj = n_venues * k
    b = rng.normal(0, sigma_b, nj)
    panels = np.arange(nj).reshape(n_venues, k).copy()
    for s in range(shared):
        panels[:, s] = np.roll(panels[:, k - 1 - s], -1)
    ent = np.repeat(np.arange(ne), k)
    jud = panels[venue].ravel()
    ven = np.repeat(venue, k)
    y = q[ent] + b[jud] + rng.normal(0, sigma_e, ent.size)
    return scoring.Scores(ent, jud, y, ven), q
