"""Reading briefs as people send them: .docx and .pdf files made here with the real libraries."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import matplotlib
import pytest
import weasyprint

from scopeguard.adapters.document_text import UnreadableDocumentError, document_text
from scopeguard.domain.brief import check_brief
from tests.support.risk import matcher

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def word_document(paragraphs: list[tuple[str, str | None]]) -> bytes:
    """A .docx with (text, style) paragraphs, written by python-docx."""
    document = docx.Document()
    for text, style in paragraphs:
        document.add_paragraph(text, style=style)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Budget"
    table.rows[0].cells[1].text = "as discussed"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_document(html_body: str) -> bytes:
    """A PDF with a real text layer, laid out by WeasyPrint with an embedded Cyrillic font."""
    html = (
        f"<style>@font-face {{font-family: Body; src: url('{FONT.as_uri()}');}}"
        f"body {{font-family: Body; font-size: 11pt;}}</style>{html_body}"
    )
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def test_a_word_brief_keeps_its_numbered_expectations_and_tables() -> None:
    data = word_document(
        [
            ("Contact form for the support team", "Heading 1"),
            ("Make it pop, and something that wows.", None),
            ("Name, email and message are required.", "List Number"),
            ("A confirmation email is sent.", "List Number"),
            ("Works on mobile.", "List Bullet"),
        ]
    )
    text = document_text(data, "brief.docx")
    assert text.splitlines() == [
        "Contact form for the support team",
        "Make it pop, and something that wows.",
        "1. Name, email and message are required.",
        "2. A confirmation email is sent.",
        "- Works on mobile.",
        "Budget | as discussed",
    ]
    report = check_brief(text, matcher())
    assert report.acceptance_criteria  # the two numbered expectations
    assert [m.text for m in report.phrases] == [
        "Make it pop",
        "something that wows",
        "as discussed",
    ]


def test_a_pdf_brief_in_russian_reads_back_with_its_words() -> None:
    data = pdf_document(
        "<h1>Лендинг к акции</h1><p>Сделайте душевно, убедительно, чтобы глаза горели.</p>"
        "<p>Как обсуждали на созвоне.</p>"
    )
    text = document_text(data, "brief.pdf")
    report = check_brief(text, matcher())
    assert report.language == "ru"
    assert [m.text for m in report.phrases][:3] == ["душевно", "убедительно", "глаза горели"]


def test_plain_text_in_utf8_or_with_a_byte_order_mark() -> None:
    assert document_text("Срочно!".encode()) == "Срочно!"
    assert document_text("\ufeffСрочно!".encode()) == "Срочно!"
    assert document_text("Срочно!".encode("utf-16")) == "Срочно!"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Срочно".encode("cp1251"), "not UTF-8 text"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"%PDF-1.7 then garbage", "not a readable PDF"),
        (b"PK\x03\x04 not really a zip", "not a readable Word document"),
    ],
)
def test_unreadable_input_says_why(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableDocumentError, match=message):
        document_text(data, "upload")


def test_a_pdf_without_a_text_layer_is_unreadable() -> None:
    blank = pdf_document("<div style='height: 2cm; background: black'></div>")
    with pytest.raises(UnreadableDocumentError, match="no text layer"):
        document_text(blank, "scan.pdf")
