"""Plain text out of a brief as people send it: a text file, a Word document (.docx) or a PDF.

:func:`document_text` takes the file's bytes (from disk or standard input) and
tells the format by its first bytes, not its name: ``%PDF-`` is a PDF (read
with pypdf, page by page), a ZIP holding ``word/document.xml`` is a Word
document (read with python-docx: paragraphs and tables in document order, list
paragraphs written as ``1.`` / ``-`` lines so numbered expectations and
checklists survive), anything else must be UTF-8 text (a byte-order mark, or
UTF-16 with one, is honoured). Everything else raises :class:`UnreadableDocumentError`:
a corrupt or encrypted file, a PDF whose pages hold no text (a scan), bytes
that are not text.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

_PDF = b"%PDF-"
_ZIP = b"PK\x03\x04"
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class UnreadableDocumentError(Exception):
    """The input is not a document ScopeGuard can read text from; the message says why."""


def document_text(data: bytes, name: str = "input") -> str:
    """The text of a .txt/.md, .docx or .pdf document given as bytes (see the module)."""
    if data.startswith(_PDF):
        return _pdf_text(data, name)
    if data.startswith(_ZIP):
        return _docx_text(data, name)
    return _plain_text(data, name)


def _plain_text(data: bytes, name: str) -> str:
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise UnreadableDocumentError(f"{name}: not valid {encoding} text") from error
    if b"\x00" in data:
        raise UnreadableDocumentError(f"{name}: binary data, not text, .docx or .pdf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableDocumentError(
            f"{name}: not UTF-8 text (save it as UTF-8, or as .docx or .pdf)"
        ) from error


def _pdf_text(data: bytes, name: str) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocumentError(f"{name}: the PDF is password-protected")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise UnreadableDocumentError(f"{name}: not a readable PDF ({error})") from error
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableDocumentError(f"{name}: the PDF has no text layer (a scan needs OCR first)")
    return text


def _docx_text(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise UnreadableDocumentError(f"{name}: a ZIP archive, not a Word document")
        document = docx.Document(io.BytesIO(data))
        lines = list(_docx_lines(document))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as error:
        raise UnreadableDocumentError(f"{name}: not a readable Word document ({error})") from error
    return "\n".join(lines)


def _docx_lines(document: Document) -> Iterator[str]:
    """Paragraphs and table rows in document order; list items keep a list marker."""
    numbered = 0
    for element in document.element.body.iterchildren():
        if element.tag == f"{_W}p":
            paragraph = Paragraph(element, document)
            text = paragraph.text
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            is_list = style.startswith("List") or element.find(f"{_W}pPr/{_W}numPr") is not None
            if is_list and "Number" in style:
                numbered += 1
                yield f"{numbered}. {text}"
                continue
            numbered = 0
            yield f"- {text}" if is_list and text else text
        elif element.tag == f"{_W}tbl":
            numbered = 0
            for row in Table(element, document).rows:
                yield " | ".join(cell.text for cell in row.cells)
