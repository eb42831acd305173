"""The panel's language: ``?lang=``, then the cookie it set, then the browser, then config.

Flask-Babel supplies ``_()``/``ngettext()`` in templates and picks the locale
per request; its catalog lookup is replaced by :func:`scopeguard.presentation.i18n.translations`
so the panel reads the same merged, in-memory-compiled ``.po`` catalogs as the
PDF reports and the alerts (Flask-Babel alone would look for ``.mo`` files).
"""

from __future__ import annotations

from typing import Any

import flask_babel
from babel.support import NullTranslations
from flask import Flask, Response, request

from scopeguard.entrypoints.web.context import services
from scopeguard.presentation.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language, translations

LANGUAGE_COOKIE = "scopeguard_lang"
_YEAR = 365 * 24 * 3600


class _Catalogs(flask_babel.Domain):  # type: ignore[misc]  # flask_babel is untyped
    """Flask-Babel's domain, answering from ScopeGuard's merged catalogs."""

    def get_translations(self) -> NullTranslations:
        return translations(current_language())


def _choice(value: str | None) -> Language | None:
    for language in LANGUAGES:
        if value == language:
            return language
    return None


def select_language() -> Language:
    """The request's language: ``?lang=``, the cookie, ``Accept-Language``, ``web.language``."""
    chosen = _choice(request.args.get("lang")) or _choice(request.cookies.get(LANGUAGE_COOKIE))
    if chosen is not None:
        return chosen
    best = _choice(request.accept_languages.best_match(LANGUAGES))
    if best is not None:
        return best
    return services().settings.web.language


def current_language() -> Language:
    """The language of the current request (English outside one)."""
    found = flask_babel.get_locale()
    return _choice(str(found) if found is not None else None) or DEFAULT_LANGUAGE


def gettext(message: str, **variables: Any) -> str:
    """``gettext`` in the request's language, ``%(name)s`` filled from ``variables``."""
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def _remember(response: Response) -> Response:
    # ?lang= is a choice the person made: keep it for the next pages (and the
    # chart images they load) without carrying the parameter along.
    chosen = _choice(request.args.get("lang"))
    if chosen is not None and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=_YEAR,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    return response


def init_app(app: Flask) -> None:
    """Flask-Babel with ScopeGuard's catalogs and language choice."""
    babel = flask_babel.Babel(
        app,
        default_locale=services_language(app),
        locale_selector=select_language,
    )
    # werkzeug's cached_property accepts assignment: the domain every request uses.
    babel.domain_instance = _Catalogs()
    app.after_request(_remember)


def services_language(app: Flask) -> str:
    """The configured default language (``web.language``)."""
    language: str = app.extensions["scopeguard"].settings.web.language
    return language
