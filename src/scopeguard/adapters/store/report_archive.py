"""The report archive: a PDF file per client and month, and its record in the database.

Files live in the report folder (``reports.folder``, default
``<instance_path>/reports``) as ``<client>/<client>-<YYYY-MM>-<hash>.pdf``. The
content hash in the name means a file is never overwritten in place: a
regenerated month gets a new file, the record is switched to it in one
transaction, and the old file is removed afterwards. Two processes storing the
same month at once therefore never leave a record pointing at the other's
bytes; the loser of the race removes its own file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import ReportRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount
from scopeguard.config import Settings
from scopeguard.domain.month import Month

log = logging.getLogger(__name__)

Trigger = Literal["scheduled", "manual"]


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """One archived report, as the panel lists it."""

    client_key: str
    month: str
    language: str
    generated_at: datetime
    as_of: datetime
    complete: bool
    pages: int
    size_bytes: int
    emailed_at: datetime | None
    email_error: str | None

    @property
    def path(self) -> str:
        """The download path under the web app: ``/clients/<key>/reports/<YYYY-MM>.pdf``."""
        return f"/clients/{self.client_key}/reports/{self.month}.pdf"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "client": self.client_key,
            "month": self.month,
            "language": self.language,
            "generated_at": self.generated_at.isoformat(),
            "as_of": self.as_of.isoformat(),
            "complete": self.complete,
            "pages": self.pages,
            "size_bytes": self.size_bytes,
            "emailed_at": None if self.emailed_at is None else self.emailed_at.isoformat(),
            "email_error": self.email_error,
            "path": self.path,
        }


def report_folder(settings: Settings) -> Path:
    """Where the PDFs are kept (a relative ``reports.folder`` is under ``instance_path``)."""
    folder = settings.reports.folder
    if folder is None:
        return settings.instance_path / "reports"
    return folder if folder.is_absolute() else settings.instance_path / folder


def _info(row: ReportRow) -> ReportInfo:
    return ReportInfo(
        client_key=row.client_key,
        month=row.month,
        language=row.language,
        generated_at=row.generated_at,
        as_of=row.as_of,
        complete=row.complete,
        pages=row.pages,
        size_bytes=row.size_bytes,
        emailed_at=row.emailed_at,
        email_error=row.email_error,
    )


def list_reports(session: Session, client_key: str) -> list[ReportInfo]:
    """The client's archived reports, newest month first."""
    rows = session.scalars(
        select(ReportRow).where(ReportRow.client_key == client_key).order_by(ReportRow.month.desc())
    )
    return [_info(row) for row in rows]


def find_report(session: Session, client_key: str, month: Month | str) -> ReportRow | None:
    """The record of one client's report of one month, if there is one."""
    return session.scalars(
        select(ReportRow).where(ReportRow.client_key == client_key, ReportRow.month == str(month))
    ).first()


def read_report(settings: Settings, row: ReportRow) -> bytes:
    """The PDF bytes of an archived report (``FileNotFoundError`` if the file is gone)."""
    return (report_folder(settings) / row.file_name).read_bytes()


def _write_file(folder: Path, name: str, content: bytes) -> None:
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write aside, flush to disk, then rename: a reader never sees half a PDF.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_file(folder: Path, name: str) -> None:
    try:
        (folder / name).unlink(missing_ok=True)
    except OSError as error:  # a leftover file is harmless; the record is what counts
        log.warning("could not remove old report file %s: %s", name, error)


class ArchivableReport(Protocol):
    """What the archive keeps of a generated report."""

    @property
    def client_key(self) -> str: ...
    @property
    def month(self) -> Month: ...
    @property
    def language(self) -> str: ...
    @property
    def pdf(self) -> bytes: ...
    @property
    def pages(self) -> int: ...
    @property
    def generated_at(self) -> datetime: ...
    @property
    def as_of(self) -> datetime: ...
    @property
    def complete(self) -> bool: ...


def store_report(
    database: Database,
    settings: Settings,
    report: ArchivableReport,
    *,
    trigger: Trigger,
    recipients: tuple[str, ...] = (),
    only_if_incomplete: bool = False,
) -> ReportRow | None:
    """Keep ``report`` as its client's report of its month, replacing an earlier one.

    With ``only_if_incomplete`` (the scheduled run) an existing report that
    covers the whole month is left alone and ``None`` is returned: two workers
    generating the same month keep exactly one. Email state survives a
    replacement, so regenerating a month that was sent does not send it again.
    """
    folder = report_folder(settings)
    digest = hashlib.sha256(report.pdf).hexdigest()
    month = str(report.month)
    name = f"{report.client_key}/{report.client_key}-{month}-{digest[:12]}.pdf"
    # Identical bytes (two workers rendering the same moment) share one file name:
    # a file that was already there may be another record's and is never removed here.
    ours = not (folder / name).exists()
    _write_file(folder, name, report.pdf)
    values: dict[str, Any] = {
        "client_key": report.client_key,
        "month": month,
        "language": report.language,
        "file_name": name,
        "size_bytes": len(report.pdf),
        "sha256": digest,
        "pages": report.pages,
        "generated_at": report.generated_at,
        "as_of": report.as_of,
        "complete": report.complete,
        "trigger": trigger,
        "recipients": list(recipients),
    }
    replaced: str | None = None
    try:
        with database.session() as session:
            if not insert_ignore(session, ReportRow, values):
                # Lock the existing record (PostgreSQL; SQLite serialises writers) so
                # two replacements of one month cannot interleave.
                row = session.scalars(
                    select(ReportRow)
                    .where(ReportRow.client_key == report.client_key, ReportRow.month == month)
                    .with_for_update()
                ).one()
                if only_if_incomplete and row.complete:
                    # Theirs is kept; ours goes, unless it is the very same file.
                    replaced = name if ours and row.file_name != name else None
                    return None
                if row.file_name != name:
                    replaced = row.file_name
                for key, value in values.items():
                    if key != "recipients" or recipients:
                        setattr(row, key, value)
            stored = find_report(session, report.client_key, month)
            assert stored is not None  # inserted or updated just above
    except BaseException:
        if ours:
            _remove_file(folder, name)
        raise
    finally:
        if replaced is not None:
            _remove_file(folder, replaced)
    return stored


def claim_email(
    database: Database, pk: int, now: datetime, *, force: bool, claim: timedelta
) -> bool:
    """Claim the right to email report ``pk`` (one sender at a time); ``False`` if taken.

    A claim older than ``claim`` belongs to a sender that died: it can be taken.
    Without ``force`` a report already emailed is not claimed again.
    """
    conditions = [
        ReportRow.pk == pk,
        or_(ReportRow.email_claimed_at.is_(None), ReportRow.email_claimed_at < now - claim),
    ]
    if not force:
        conditions.append(ReportRow.emailed_at.is_(None))
    with database.session() as session:
        result = session.execute(
            update(ReportRow)
            .where(*conditions)
            .values(email_claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1


def finish_email(database: Database, pk: int, now: datetime, error: str | None) -> None:
    """Release the claim, recording when the email went out or why it did not."""
    values: dict[str, object] = {"email_claimed_at": None, "email_error": error}
    if error is None:
        values["emailed_at"] = now
    with database.session() as session:
        session.execute(
            update(ReportRow)
            .where(ReportRow.pk == pk)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
