"""Machine-readable caveats.

A :class:`Note` *is* the plain-language English sentence (a ``str``: code that prints, compares or searches
``Calibration.warnings`` / ``Diagnostics.notes`` keeps working) and also carries a stable ``code`` and the
``params`` needed to phrase it again, e.g. in another language. Params are JSON-friendly values (str, int,
float and lists of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Note"]


class Note(str):
    """An English caveat with a ``code`` and ``params``. Equal to (and hashed like) its text."""

    code: str
    params: dict[str, Any]

    def __new__(cls, text: str, code: str, params: Mapping[str, Any] | None = None) -> Note:
        self = super().__new__(cls, text)
        self.code = code
        self.params = dict(params or {})
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Note, (str(self), self.code, self.params))
