"""Checking JSON against the OpenAPI document's schemas, and reading the README's examples.

The validator is strict on purpose: JSON Schema 2020-12 (OpenAPI 3.1's dialect)
with formats checked (``date-time``, ``date``), and the documents' schemas
forbid undeclared keys, so an answer with a key the types do not declare, or a
moment without its offset, fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.support.paths import REPO_ROOT

ELISION = "…"
"""What the README writes for "more of the same" in a list or an object."""


def schema_validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema`` (e.g. ``{"$ref": "#/components/schemas/X"}``) of ``document``.

    The schema is checked inside a copy of the document's components, so its
    ``#/components/...`` references resolve as they do in the document itself.
    """
    root = {**schema, "components": document["components"]}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root, format_checker=FormatChecker())


def response_schema(document: dict[str, Any], path: str, status: str = "200") -> dict[str, Any]:
    """The JSON schema of one ``GET`` answer (``path`` as the document writes it)."""
    response = document["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def errors_of(validator: Draft202012Validator, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the schema, one line each (empty: it conforms)."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def template_of(document: dict[str, Any], path: str) -> str:
    """The document's path template that a concrete path matches (``/api/v1/clients/TOX/summary``
    → ``/api/v1/clients/{key}/summary``)."""
    for template in document["paths"]:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return str(template)
    raise KeyError(f"no documented path matches {path}")


def without_elisions(value: Any) -> Any:
    """``value`` without the README's ``…``: dropped from lists, and as keys from objects."""
    if isinstance(value, list):
        return [without_elisions(item) for item in value if item != ELISION]
    if isinstance(value, dict):
        return {key: without_elisions(item) for key, item in value.items() if key != ELISION}
    return value


_CURL = re.compile(r"^\$ curl .*?(https?://\S+)\s*$")


def readme_api_examples(readme: Path = REPO_ROOT / "README.md") -> list[tuple[str, Any]]:
    """The README's ``JSON API`` examples: each ``$ curl URL`` with the JSON printed after it.

    Only the section's shell blocks are read; an answer runs from its ``$ curl``
    line to the next ``$`` line or the block's end, and must be JSON (the
    examples are kept as real answers, with ``…`` for elided items).
    """
    text = readme.read_text(encoding="utf-8")
    section = text.split("\n## JSON API\n", 1)[1].split("\n## ", 1)[0]
    examples: list[tuple[str, Any]] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        url: str | None = None
        body: list[str] = []
        for line in [*block.splitlines(), "$"]:
            if line.startswith("$"):
                if url is not None:
                    examples.append((url, json.loads("\n".join(body))))
                match = _CURL.match(line)
                url, body = (match[1] if match else None), []
            else:
                body.append(line)
    return examples
