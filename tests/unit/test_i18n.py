"""Every message marked for translation in ScopeGuard has a Russian translation.

The messages are extracted from the source the way ``pybabel extract`` would:
Python files with the gettext keywords, Jinja templates with Jinja's own Babel
extractor. The Russian catalog is the merge of every ``ru/LC_MESSAGES/*.po``
file (one per area), so a message from any area — panel, charts, reports,
alerts — that lacks Russian fails here, as does a ``.po`` file that does not
parse or whose placeholders do not match the English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import PoFileError, read_po

from scopeguard.presentation.i18n import CATALOGS, gettext_for, ngettext_for, translations

SOURCE = Path(__file__).resolve().parents[2] / "src" / "scopeguard"
RU = CATALOGS / "ru" / "LC_MESSAGES"

KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "N_": None,
}
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}


@dataclass(frozen=True)
class Found:
    """One message as the code marks it."""

    msgid: str | tuple[str, str]
    where: str


def extract(source: Path = SOURCE) -> list[Found]:
    """Every translatable message under ``source`` with the first place it occurs."""
    found: dict[str | tuple[str, str], str] = {}
    options = {pattern: JINJA_OPTIONS for pattern, method in METHODS if "jinja" in method}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(source), METHODS, options, KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        msgid = message if isinstance(message, str) else (message[0], message[1])
        if not msgid or (isinstance(msgid, tuple) and not msgid[0]):
            continue
        found.setdefault(msgid, f"{filename}:{lineno}")
    return [Found(msgid, where) for msgid, where in found.items()]


class PoSyntaxError(ValueError):
    """A ``.po`` file that GNU gettext would reject."""


_QUOTED = r'"(?:[^"\\]|\\.)*"'
_LINE = re.compile(
    rf"^(?:#.*|(?:msgctxt|msgid|msgid_plural|msgstr|msgstr\[\d+\])\s+{_QUOTED}|{_QUOTED})$"
)


def syntax_errors(text: str) -> list[str]:
    """Lines that are not gettext ``.po`` syntax, and repeated msgids.

    Babel's reader forgives a lot (an unterminated string loses its last
    character and parses on), so the lines are checked as GNU ``msgfmt`` would.
    """
    errors = []
    seen: set[tuple[str, str]] = set()
    context = msgid = ""
    key: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not _LINE.match(line):
            errors.append(f"line {number}: not .po syntax: {raw!r}")
            continue
        keyword = line.split(None, 1)[0]
        if keyword == "msgctxt":
            context = line
        elif keyword == "msgid":
            key, msgid = "msgid", line
        elif keyword.startswith('"') and key == "msgid":
            msgid += line
        elif keyword.startswith("msgstr") and key == "msgid":
            key = None
            if (context, msgid) in seen:
                errors.append(f"line {number}: the msgid above is defined twice")
            seen.add((context, msgid))
            context = ""
    return errors


def read_catalogs(folder: Path = RU) -> Iterator[tuple[Path, Catalog]]:
    """Each ``.po`` file of the folder, checked line by line and parsed strictly."""
    for path in sorted(folder.glob("*.po")):
        errors = syntax_errors(path.read_text(encoding="utf-8"))
        if errors:
            raise PoSyntaxError(f"{path.name}: " + "; ".join(errors))
        with path.open("rb") as handle:
            yield path, read_po(handle, locale="ru", abort_invalid=True)


def merged_catalog() -> dict[str | tuple[str, ...], Message]:
    """Every translated message of every Russian ``.po`` file, by msgid."""
    merged: dict[str | tuple[str, ...], Message] = {}
    for _path, catalog in read_catalogs():
        for message in catalog:
            if message.id:
                merged[message.id] = message
    return merged


def _translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    if isinstance(message.id, tuple | list):
        forms = message.string
        return isinstance(forms, tuple | list) and all(form.strip() for form in forms)
    return isinstance(message.string, str) and bool(message.string.strip())


def test_the_extractor_sees_python_and_templates() -> None:
    found = {item.msgid for item in extract()}
    # One message each from a Python module and from a template: if either
    # extractor silently found nothing, the completeness check below would pass
    # vacuously.
    assert "Revision rounds per issue" in found  # render/charts.py
    assert "Skip to main content" in found  # web/templates/panel/base.html
    assert (
        "%(num)d client. Sort the table by any column.",
        "%(num)d clients. Sort the table by any column.",
    ) in found


def test_every_po_file_parses() -> None:
    paths = [path for path, _catalog in read_catalogs()]
    assert {"panel.po", "charts.po"} <= {path.name for path in paths}


@pytest.mark.parametrize(
    "text",
    [
        'msgid "Creep"\nmsgstr "Расползание\n',  # unterminated string
        'msgid "Creep"\nmsgstr Расползание\n',  # unquoted
        'msgid "Creep"\n',  # no msgstr
        'msgid "Creep"\nmsgstr "a"\n\nmsgid "Creep"\nmsgstr "b"\n',  # defined twice
        'msgid "Creep"\nmsgstr "a" "b"\n',  # two strings on a line
        'msgid "Creep"\nmsgstr[x] "a"\n',  # bad plural index
    ],
)
def test_a_broken_po_file_is_reported(tmp_path: Path, text: str) -> None:
    (tmp_path / "broken.po").write_text(text, encoding="utf-8")
    with pytest.raises((PoSyntaxError, PoFileError)):
        list(read_catalogs(tmp_path))


def test_a_well_formed_po_file_passes(tmp_path: Path) -> None:
    (tmp_path / "fine.po").write_text(
        '# comment\nmsgid ""\nmsgstr ""\n"Language: ru\\n"\n\n'
        'msgid "Say \\"hi\\""\nmsgstr ""\n"Скажи \\"привет\\""\n',
        encoding="utf-8",
    )
    [(_path, catalog)] = list(read_catalogs(tmp_path))
    assert catalog['Say "hi"'].string == 'Скажи "привет"'


def test_every_message_has_a_russian_translation() -> None:
    merged = merged_catalog()
    # Plural messages are keyed by (singular, plural) on both sides, so a message
    # whose plural changed in the code counts as untranslated too.
    missing = [
        f"{item.where}: {item.msgid!r}"
        for item in extract()
        if not _translated(merged.get(item.msgid))
    ]
    assert not missing, "messages without Russian:\n" + "\n".join(missing)


def test_translations_keep_the_placeholders() -> None:
    problems = []
    for path, catalog in read_catalogs():
        for message in catalog:
            if not message.id or not message.string:
                continue
            try:
                python_format(catalog, message)
            except Exception as exc:  # TranslationError: a placeholder lost or renamed
                problems.append(f"{path.name}: {message.id!r}: {exc}")
    assert not problems, "\n".join(problems)


def test_russian_plurals_have_three_forms() -> None:
    ngettext = ngettext_for("ru")
    forms = [ngettext("%(num)d round", "%(num)d rounds", n) % {"num": n} for n in (1, 3, 5, 11, 21)]
    assert forms == ["1 раунд", "3 раунда", "5 раундов", "11 раундов", "21 раунд"]


def test_the_merged_catalog_translates_every_area() -> None:
    _ = gettext_for("ru")
    assert _("Revision rounds per issue") != "Revision rounds per issue"  # charts.po
    assert _("Portfolio") != "Portfolio"  # panel.po
    assert translations("en").gettext("Portfolio") == "Portfolio"
