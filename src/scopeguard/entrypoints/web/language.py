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
from flask import Flask, Response, g, request

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


def request_translations() -> NullTranslations:
    """The request's catalog, looked up once per request.

    A page of 50 evidence trails asks for some 800 translations; through
    Flask-Babel's lookup (context, domain, locale, catalog) each took about 12 µs,
    half the time of rendering the page.
    """
    found: NullTranslations | None = g.get("scopeguard_translations")
    if found is None:
        found = g.scopeguard_translations = translations(current_language())
    return found


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
    # The templates' _() and ngettext(), as Flask-Babel installs them, with the catalog
    # looked up once per request instead of once per message.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # the i18n extension
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )
    app.after_request(_remember)


def services_language(app: Flask) -> str:
    """The configured default language (``web.language``)."""
    language: str = app.extensions["scopeguard"].settings.web.language
    return language
