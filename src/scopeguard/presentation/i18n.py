"""English and Russian for the panel, the charts, the PDF reports and the alerts.

The catalogs are gettext ``.po`` files under ``translations/<lang>/LC_MESSAGES/``,
one file per area (``panel.po``, ``report.po``, ``alerts.po``, …) so that work
on one area never edits another's file; all files of a language are merged
into one catalog. English is the source language: a message with no Russian
translation is shown in English, never as an empty string. ``.po`` files are
compiled in memory when first used, so there is no build step to forget.

Outside a Flask request (PDF generation, the scheduler) use
:func:`translations` directly; inside the web app Flask-Babel is configured
with the same catalogs (see :mod:`scopeguard.entrypoints.web.language`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

Language = Literal["en", "ru"]
LANGUAGES: tuple[Language, ...] = ("en", "ru")
DEFAULT_LANGUAGE: Language = "en"
CATALOGS = Path(__file__).parent / "translations"


@cache
def translations(language: str) -> NullTranslations:
    """The merged catalog of ``language`` (English: identity)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return NullTranslations()
    merged: Translations | None = None
    folder = CATALOGS / language / "LC_MESSAGES"
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged if merged is not None else NullTranslations()


def gettext_for(language: str) -> Callable[[str], str]:
    """A ``gettext`` bound to one language, for code outside a request."""
    return translations(language).gettext


def ngettext_for(language: str) -> Callable[[str, str, int], str]:
    """An ``ngettext`` bound to one language (Russian has three plural forms)."""
    return translations(language).ngettext


def normalize_language(value: str | None) -> Language:
    """``ru``, ``ru-RU``, ``RU`` → ``ru``; anything unknown → English."""
    if value:
        short = value.replace("_", "-").split("-", 1)[0].lower()
        for language in LANGUAGES:
            if language == short:
                return language
    return DEFAULT_LANGUAGE


def locale(language: str) -> Locale:
    """The Babel locale for number and date formatting."""
    return Locale.parse(normalize_language(language))
