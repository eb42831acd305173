"""What a failing database or disk raises, for callers that may not import SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

STORAGE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)
"""A database that refuses a write (full disk, read-only file, lost connection) or a
file that cannot be written: a run that hits one fails, is recorded, and the next
client goes on."""


def describe_storage_error(error: Exception) -> str:
    """One line for a person: the driver's first line, without SQL or parameters."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return f"storage error: {first}"
