"""Finding, reading and validating the configuration file.

Where the file is: ``--config PATH``, else ``$SCOPEGUARD_CONFIG``, else
``./scopeguard.yaml``. Every problem is reported with its key path (and the line
in the file where it can be found) so the person fixing it knows where to look.

``${VAR}`` and ``${VAR:-default}`` are replaced from the environment. When
``VAR_FILE`` is set, the content of the file it names is used instead (one
trailing newline removed), whatever ``VAR`` says: Docker and Kubernetes mount
secrets as files, and a secret read from a file never shows in an environment
dump (``docker inspect``, ``/proc/PID/environ``, a crash reporter).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scopeguard.config.settings import Settings

DEFAULT_CONFIG_FILE = "scopeguard.yaml"
CONFIG_ENV = "SCOPEGUARD_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists each one with its key path."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(
            f"invalid configuration{where}:\n" + "\n".join(f"  - {p}" for p in problems)
        )


_UNION_TAGS = frozenset({"date", "datetime"})


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
SECRET_FILE_SUFFIX = "_FILE"
"""``VAR_FILE`` names a file whose content replaces ``${VAR}``."""


@dataclass(frozen=True)
class _Located:
    """Where each key path was found in the YAML text, for error messages."""

    lines: dict[tuple[str | int, ...], int]

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping.

    PyYAML keeps the last value silently: a second ``revisions_per_issue:`` further
    down a long file would quietly replace the first.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is written twice (lines {first} and {line})",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> Any:
    """The YAML document, or :class:`ConfigError` for anything PyYAML cannot read."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"not valid YAML{where}: {problem}"]) from exc
    except ValueError as exc:
        # PyYAML builds dates itself: `2026-02-30` fails in datetime, not in the parser.
        raise ConfigError([f"not valid YAML: {exc} (a date written YYYY-MM-DD?)"]) from exc
    except RecursionError as exc:
        raise ConfigError(["not valid YAML: nested too deeply"]) from exc


def _locate(text: str) -> _Located:
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return _Located(lines)

    def walk(node: yaml.Node | None, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, str(key_node.value))
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    walk(root, ())
    return _Located(lines)


def _substitute(
    value: Any,
    env: Mapping[str, str],
    path: tuple[str | int, ...],
    missing: list[tuple[tuple[str | int, ...], str]],
) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            file_variable = name + SECRET_FILE_SUFFIX
            secret_file = env.get(file_variable)
            if secret_file:
                try:
                    return _read_secret_file(secret_file)
                except OSError as exc:
                    reason = exc.strerror or type(exc).__name__
                except UnicodeDecodeError:
                    reason = "not UTF-8 text"
                missing.append((path, f"cannot read {file_variable}={secret_file}: {reason}"))
                return ""
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append((path, f"environment variable {name} is not set (nor {file_variable})"))
            return ""

        return _VAR.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*path, str(k)), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*path, i), missing) for i, v in enumerate(value)]
    return value


def _read_secret_file(path: str) -> str:
    """The secret in ``path``, less the one newline that ``echo`` and editors leave at the end."""
    text = Path(path).read_text(encoding="utf-8")
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _format_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_settings(
    text: str, *, env: Mapping[str, str] | None = None, source: str | None = None
) -> Settings:
    """Validate YAML text into :class:`Settings`.

    Raises :class:`ConfigError` listing every problem, not just the first.
    """
    env = os.environ if env is None else env
    try:
        raw = _load_yaml(text)
    except ConfigError as unreadable:
        raise ConfigError(unreadable.problems, source) from unreadable
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(["the configuration must be a mapping of keys to values"], source)
    missing: list[tuple[tuple[str | int, ...], str]] = []
    raw = _substitute(raw, env, (), missing)
    located = _locate(text)

    def describe(loc: tuple[str | int, ...], message: str) -> str:
        line = located.line_of(loc)
        at = f" (line {line})" if line else ""
        return f"{_format_path(loc)}{at}: {message}"

    problems = [describe(loc, message) for loc, message in missing]
    unset = {loc for loc, _message in missing}
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            # pydantic puts union members and validator names into the location.
            loc = tuple(
                part
                for part in error["loc"]
                if not (isinstance(part, str) and ("function-" in part or part in _UNION_TAGS))
            )
            if loc in unset:
                continue  # already reported: the variable behind it is not set
            problems.append(describe(loc, error["msg"].removeprefix("Value error, ")))
        raise ConfigError(problems, source) from exc
    if problems:
        raise ConfigError(problems, source)
    return settings


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file: the given path, else ``$SCOPEGUARD_CONFIG``, else ``./scopeguard.yaml``."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path(DEFAULT_CONFIG_FILE)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration file."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read {file}: {exc.strerror}"], str(file)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{file} is not UTF-8 text (byte {exc.start}): save it as UTF-8"], str(file)
        ) from exc
    settings = parse_settings(text, source=str(file))
    if not settings.instance_path.is_absolute():
        # The instance folder is relative to the config file, not to wherever the
        # command happened to be started.
        settings = settings.model_copy(
            update={"instance_path": (file.parent / settings.instance_path).resolve()}
        )
    return settings
