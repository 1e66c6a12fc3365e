"""Podium's scoring engine: rubric sheets -> panel aggregates -> calibration -> combination
-> grades, with diagnostics and uncertainty. Pure numpy; no web or database imports.

Typical use::

    import scoring
    obs = scoring.Scores(entry=e, judge=j, value=y, venue=v)
    fit = scoring.calibrate(obs)                        # "calibrated" by default
    final = scoring.combine({"initial": doc.score, "onsite": fit.score},
                            weights={"initial": 0.4, "onsite": 0.6})
    grades = scoring.assign_grades(final, scoring.Quotas())
    probs = scoring.grade_probabilities({"initial": doc, "onsite": fit},
                                        {"initial": 0.4, "onsite": 0.6}, scoring.Quotas())
    report = scoring.diagnose(obs, fit)

See docs/scoring.md for the methods, formulas and assumptions.
"""

from ._notes import Note
from ._scores import Scores
from .aggregate import (
    PanelResult,
    default_trim,
    panel_mean,
    panel_median,
    panel_trimmed,
    round_half_up,
    trimmed_mean,
)
from .calibrate import METHODS, Calibration, Explanation, calibrate
from .diagnose import Diagnostics, Flag, JudgeReport, VenueReport, diagnose
from .grades import Grades, Quotas, Thresholds, assign_grades, combine, grade_codes
from .graph import connected_components
from .rubric import Rubric, RubricItem
from .uncertainty import boundary_review, grade_probabilities, most_likely

ENGINE_VERSION = "0.1.0"

__all__ = [
    "ENGINE_VERSION",
    "METHODS",
    "Calibration",
    "Diagnostics",
    "Explanation",
    "Flag",
    "Grades",
    "JudgeReport",
    "Note",
    "PanelResult",
    "Quotas",
    "Rubric",
    "RubricItem",
    "Scores",
    "Thresholds",
    "VenueReport",
    "assign_grades",
    "boundary_review",
    "calibrate",
    "combine",
    "connected_components",
    "default_trim",
    "diagnose",
    "grade_codes",
    "grade_probabilities",
    "most_likely",
    "panel_mean",
    "panel_median",
    "panel_trimmed",
    "round_half_up",
    "trimmed_mean",
]
