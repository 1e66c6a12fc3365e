"""Message catalogs (gettext ``.po`` files read with Babel). Simplified Chinese is the default locale.

Source strings (msgids) are English; ``locale/zh_Hans/LC_MESSAGES/messages.po`` translates them. The catalogs
are read once at start-up; no compile step is needed. The locale of a request comes from ``?lang=``, then
the ``podium_lang`` cookie, then the account's preference, then ``PODIUM_DEFAULT_LOCALE``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("zh_Hans", "en")
LANG_COOKIE = "podium_lang"
HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}


@cache
def catalog(locale: str) -> dict[str, str]:
    """All ``*.po`` files of a locale merged (one file per area: messages.po, tablet.po, live.po, ...)."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            cat = read_po(fh, locale=locale.replace("_Hans", ""))
        merged.update({str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy})
    return merged


class Translator:
    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else LOCALES[0]
        self._messages = catalog(self.locale)

    def gettext(self, message: str, **params: Any) -> str:
        text = self._messages.get(message, message)
        return text.format(**params) if params else text

    __call__ = gettext

    def js_catalog(self) -> dict[str, str]:
        """Messages for the browser (the JS modules call ``t("...")``)."""
        return self._messages

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.locale]


def pick_locale(query: str | None, cookie: str | None, account_locale: str | None, default: str) -> str:
    for candidate in (query, cookie, account_locale):
        if candidate in LOCALES:
            return candidate  # type: ignore[return-value]
    return default
