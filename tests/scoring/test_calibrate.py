"""Calibration methods: hand-computed cases, invariances, connectivity, explanations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring

from ._sim import simulate


def _toy() -> scoring.Scores:
    # venue 0: entries 0,1 by judges 0,1; venue 1: entries 2,3 by judges 1,2 (judge 1 links them)
    return scoring.Scores(
        entry=[0, 0, 1, 1, 2, 2, 3, 3],
        judge=[0, 1, 0, 1, 1, 2, 1, 2],
        value=[80, 84, 86, 90, 70, 78, 75, 83],
        venue=[0, 0, 0, 0, 1, 1, 1, 1],
    )


def test_panel_methods_hand_computed() -> None:
    obs = _toy()
    assert scoring.calibrate(obs, "mean").score.tolist() == [82, 88, 74, 79]
    assert scoring.calibrate(obs, "median").score.tolist() == [82, 88, 74, 79]
    assert scoring.calibrate(obs, "trimmed").score.tolist() == [82, 88, 74, 79]


def test_additive_hand_computed() -> None:
    # judge 1 is 4 above judge 0 and 8 below judge 2; sum b = 0 -> b = (-4/3 ... ) solved exactly:
    # b0 = b1 - 4, b2 = b1 + 8, b0 + b1 + b2 = 0 -> b1 = -4/3
    fit = scoring.calibrate(_toy(), "additive")
    b1 = -4 / 3
    np.testing.assert_allclose(fit.judge_effect, [b1 - 4, b1, b1 + 8], atol=1e-6)
    np.testing.assert_allclose(fit.score, [84 - b1, 90 - b1, 70 - b1, 75 - b1], atol=1e-6)
    assert fit.n_components == 1 and fit.component.tolist() == [0, 0, 0, 0]


def test_z_methods_hand_computed_and_warn() -> None:
    obs = scoring.Scores(entry=[0, 0, 1, 1], judge=[0, 1, 0, 1], value=[80, 84, 86, 90], venue=[0, 0, 0, 0])
    fit = scoring.calibrate(obs, "judge_z")
    # each judge: scores m +/- 3 with sd sqrt(18); z = -/+ 0.7071; pooled sd = sqrt(18); grand mean 85
    np.testing.assert_allclose(fit.score, [85 - 3, 85 + 3])
    assert any("random assignment" in w for w in fit.warnings)
    assert not scoring.calibrate(obs, "judge_z", random_assignment=True).warnings
    vz = scoring.calibrate(obs, "venue_z")
    np.testing.assert_allclose(vz.score, [82, 88])
    with pytest.raises(ValueError, match=r"needs Scores\.venue"):
        scoring.calibrate(scoring.Scores([0], [0], [1.0]), "venue_z")


def test_calibrated_matches_additive_on_complete_clean_block() -> None:
    obs = scoring.Scores(entry=[0, 0, 1, 1], judge=[0, 1, 0, 1], value=[80, 84, 86, 90])
    for m in ("additive", "calibrated"):
        np.testing.assert_allclose(scoring.calibrate(obs, m).score, [82, 88], atol=1e-6)


def test_unknown_method_and_bad_options() -> None:
    with pytest.raises(ValueError, match="unknown method 'zz'"):
        scoring.calibrate(_toy(), "zz")
    with pytest.raises(ValueError, match="moderation must be"):
        scoring.calibrate(_toy(), moderation="sometimes")
    with pytest.raises(ValueError, match="yardstick must have one value per entry"):
        scoring.calibrate(_toy(), yardstick=[1.0, 2.0])


def test_disconnected_design_is_reported() -> None:
    obs, _ = simulate(0, shared=0)
    for m in ("trimmed", "additive", "calibrated"):
        fit = scoring.calibrate(obs, m)
        assert fit.n_components == 4
        assert any("4 unlinked groups" in w for w in fit.warnings)
    rep = scoring.diagnose(obs, scoring.calibrate(obs))
    assert rep.venues is not None and not rep.venues.linked.any()
    assert {f.kind for f in rep.flags if f.subject == "venue"} >= {"unlinked"}
    linked, _ = simulate(0, shared=1)
    fit = scoring.calibrate(linked)
    assert fit.n_components == 1 and not fit.warnings


def test_calibration_recovers_severity_when_linked() -> None:
    obs, q = simulate(3, n_venues=6, per_venue=20, k=5, shared=2, sigma_b=3.0, sigma_e=1.5)
    raw = scoring.calibrate(obs, "mean").score
    cal = scoring.calibrate(obs).score

    def cmse(s: np.ndarray) -> float:
        return float(np.var(s - q))

    assert cmse(cal) < 0.7 * cmse(raw)


@pytest.mark.parametrize(
    "method", ["mean", "trimmed", "median", "judge_z", "venue_z", "additive", "calibrated"]
)
def test_explain_steps_sum_to_final(method: str) -> None:
    obs, _ = simulate(1)
    fit = scoring.calibrate(obs, method)
    for i in (0, 13, 40):
        ex = fit.explain(i)
        assert sum(v for _, v in ex.steps) == pytest.approx(ex.final, abs=1e-8)
        assert ex.steps[0][0].startswith("raw mean")
        assert "final score" in str(ex)
    with pytest.raises(ValueError, match="out of range"):
        fit.explain(10_000)


def _permute(obs: scoring.Scores, pe: np.ndarray, pj: np.ndarray) -> scoring.Scores:
    return scoring.Scores(pe[obs.entry], pj[obs.judge], obs.value, obs.venue, n_judges=obs.n_judges)


@settings(max_examples=12, deadline=None)
@given(
    st.integers(0, 10_000),
    st.sampled_from(["mean", "trimmed", "median", "judge_z", "additive", "calibrated"]),
)
def test_permuting_entries_and_judges_permutes_results(seed: int, method: str) -> None:
    obs, _ = simulate(seed % 50, n_venues=3, per_venue=8, k=5)
    rng = np.random.default_rng(seed)
    pe = rng.permutation(obs.n_entries)
    pj = rng.permutation(obs.n_judges)
    a = scoring.calibrate(obs, method)
    b = scoring.calibrate(_permute(obs, pe, pj), method)
    np.testing.assert_allclose(b.score[pe], a.score, atol=1e-5)
    np.testing.assert_allclose(b.judge_effect[pj], a.judge_effect, atol=1e-5)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.floats(-15, 15), st.sampled_from(["additive", "calibrated"]))
def test_constant_added_to_one_judge_leaves_ranking(seed: int, c: float, method: str) -> None:
    obs, _ = simulate(seed % 50, n_venues=3, per_venue=8, k=5)
    j = seed % obs.n_judges
    shifted = scoring.Scores(obs.entry, obs.judge, obs.value + c * (obs.judge == j), obs.venue)
    # with fixed (flat-prior) judge effects the constant is removed exactly: every score of the single
    # component moves by the same amount, so rankings are unchanged
    kw = {} if method == "additive" else {"judge_prior": "flat"}
    a = scoring.calibrate(obs, method, **kw).score
    b = scoring.calibrate(shifted, method, **kw).score
    # (calibrated: up to the EM convergence tolerance of 1e-3 points)
    np.testing.assert_allclose(b - a, np.mean(b - a), atol=1e-4 if method == "additive" else 3e-3)
    if method == "calibrated":
        # default Gaussian prior: the judge's entries move (nearly) together, so rankings within each
        # of the judge's venues (the judge scored all of them) are unchanged except between near-ties.
        # Not exactly together: the scale term a_j (mu_i - m) and the reliability weights see the
        # shifted contest mean m, so the move varies by up to ~6% of c within a venue (measured on
        # 500 cases, before and after the EM acceleration); pairs further apart keep their order.
        a = scoring.calibrate(obs).score
        b = scoring.calibrate(shifted).score
        ev = obs.entry_venue()
        for v in np.unique(obs.venue[obs.judge == j]):
            sel = ev == v
            move = b[sel] - a[sel]
            spread = float(move.max() - move.min())
            assert spread <= 0.1 * abs(c) + 5e-3
            gap = a[sel][:, None] - a[sel][None, :]
            far = np.abs(gap) > spread
            assert np.array_equal(np.sign(gap)[far], np.sign(b[sel][:, None] - b[sel][None, :])[far])


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 100))
def test_recused_score_has_no_influence(seed: int, bad: float) -> None:
    obs, _ = simulate(seed % 50, n_venues=2, per_venue=6, k=5)
    extra_j = obs.n_judges  # a recused extra judge on entry 0
    with_rec = scoring.Scores(
        np.r_[obs.entry, 0],
        np.r_[obs.judge, extra_j],
        np.r_[obs.value, bad],
        np.r_[obs.venue, 0],
        recused=np.r_[np.zeros(len(obs), bool), True],
    )
    for m in ("trimmed", "additive", "calibrated"):
        a = scoring.calibrate(obs, m).score
        b = scoring.calibrate(with_rec, m).score
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_deterministic() -> None:
    obs, _ = simulate(5)
    a, b = scoring.calibrate(obs), scoring.calibrate(obs)
    assert np.array_equal(a.score, b.score)


def test_anchors_identify_venue_shift() -> None:
    rng = np.random.default_rng(7)
    nv, per, k, shift = 4, 15, 5, np.array([0.0, 4.0, -3.0, 1.0])
    q = 80 + 5 * rng.standard_normal(nv * per + 3)  # last 3 entries are anchors scored in every venue
    ent, jud, ven = [], [], []
    for v in range(nv):
        es = [*range(v * per, (v + 1) * per), nv * per, nv * per + 1, nv * per + 2]
        for i in es:
            for jj in range(v * k, (v + 1) * k):
                ent.append(i)
                jud.append(jj)
                ven.append(v)
    e, j, vv = np.array(ent), np.array(jud), np.array(ven)
    y = q[e] + shift[vv] + rng.normal(0, 1.0, e.size)
    obs = scoring.Scores(e, j, y, vv)
    fit = scoring.calibrate(obs, anchors=[60, 61, 62])
    assert fit.options["venue_effects"]
    err_cal = np.abs((fit.score - q)[:60] - np.mean((fit.score - q)[:60])).mean()
    raw = scoring.calibrate(obs, "trimmed").score
    err_raw = np.abs((raw - q)[:60] - np.mean((raw - q)[:60])).mean()
    assert err_cal < 0.5 * err_raw


def test_moderation_triggers_only_on_evidence() -> None:
    rng = np.random.default_rng(11)
    nv, per = 6, 40
    ne = nv * per
    venue = np.arange(ne) // per
    q = 80 + 5 * rng.standard_normal(ne)
    doc = 80 + 0.7 * (q - 80) + rng.normal(0, 2.5, ne)
    ent = np.repeat(np.arange(ne), 5)
    jud = (venue[:, None] * 5 + np.arange(5)).ravel()
    c = np.zeros(nv)
    c[2] = 6.0
    y = q[ent] + c[venue[ent]] + rng.normal(0, 2.0, ent.size)
    obs = scoring.Scores(ent, jud, y, venue[ent])
    fit = scoring.calibrate(obs, yardstick=doc)
    assert fit.moderation[2] > 3.0
    assert np.count_nonzero(fit.moderation) <= 2
    off = scoring.calibrate(obs, yardstick=doc, moderation="off")
    assert np.all(off.moderation == 0)
