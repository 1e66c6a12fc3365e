"""Caveats are machine-readable: every warning of a fit is a ``scoring.Note`` (still the English ``str``) with a
stable code and JSON-friendly params, so the web layer can phrase it in the viewer's language."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np

import scoring

from ._sim import simulate


def test_note_is_its_english_text_with_a_code() -> None:
    n = scoring.Note("moderation not applied", "moderation_needs_two_venues", {"x": 1})
    assert n == "moderation not applied" and isinstance(n, str) and hash(n) == hash("moderation not applied")
    assert n.code == "moderation_needs_two_venues" and n.params == {"x": 1}
    assert "not applied" in n and list(dict.fromkeys([n, "moderation not applied"])) == [n]
    for twin in (pickle.loads(pickle.dumps(n)), copy.deepcopy(n)):
        assert twin == n and twin.code == n.code and twin.params == n.params


def test_unlinked_groups_note_lists_the_venues_of_each_group() -> None:
    obs, _ = simulate(0, shared=0)
    fit = scoring.calibrate(obs)
    (note,) = [w for w in fit.warnings if isinstance(w, scoring.Note) and w.code == "unlinked_groups"]
    assert "4 unlinked groups" in note
    assert note.params == {"n_groups": 4, "venues": [[0], [1], [2], [3]]}
    json.dumps(note.params)  # storable as is
    diag = scoring.diagnose(obs, fit)
    assert [getattr(w, "code", None) for w in diag.notes] == [getattr(w, "code", None) for w in fit.warnings]


def test_z_and_moderation_notes_have_codes() -> None:
    obs = scoring.Scores(entry=[0, 0, 1, 1], judge=[0, 1, 0, 1], value=[80, 84, 86, 90], venue=[0, 0, 0, 0])
    for method in ("judge_z", "venue_z"):
        codes = [getattr(w, "code", None) for w in scoring.calibrate(obs, method).warnings]
        assert codes == [f"{method}_random_assignment"]
    one_venue = scoring.calibrate(obs, "calibrated", yardstick=np.array([80.0, 90.0]), moderation="always")
    assert [getattr(w, "code", None) for w in one_venue.warnings] == ["moderation_needs_two_venues"]
    assert every_warning_has_a_code(scoring.calibrate(simulate(1, shared=0)[0], "judge_z"))


def every_warning_has_a_code(fit: scoring.Calibration) -> bool:
    return bool(fit.warnings) and all(isinstance(w, scoring.Note) and w.code for w in fit.warnings)
