"""Render the demo documents in samples/ (run: `.venv/bin/python samples/make_samples.py`).

- invoice.jpg   a scanned-looking invoice (skewed, blurred, speckled JPEG)   -> invoice
- contract.pdf  a born-digital contract with a text layer (no OCR needed)     -> contract
- report.tiff   a two-page scanned report (group-4 TIFF)                      -> report
- letter.png    a short scanned letter                                        -> letter
- notice.html   a web page with a script, a style and hidden text (not read)  -> report
- reminder.eml  an e-mail with the invoice attached as a PDF                  -> letter
                (the attachment becomes a document of its own                 -> invoice)

`expected.json` maps each file (and `<file> > <attachment>`) to the category the default
configuration should give it;
local mode and the end-to-end tests push these files through the whole pipeline.
Output is deterministic: running the script again rewrites identical files.
"""

from __future__ import annotations

import json
import sys
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "handlers"))

import render  # noqa: E402  (the test renderers: one implementation of page drawing)

INVOICE = """ACME Office Supplies Ltd, 12 Harbour Street, Bergen
INVOICE No. 2024-118
Invoice date: 3 October 2024. Customer: Nordlys Consulting AS.
20 boxes of printer paper: 180.00 EUR. 4 toner cartridges: 320.00 EUR.
Subtotal: 500.00 EUR. VAT 25%: 125.00 EUR. Total amount due: 625.00 EUR.
Payment terms: payment within 30 days of the invoice date by bank transfer.
Please quote the invoice number with your payment."""

CONTRACT = """SERVICE AGREEMENT
This Service Agreement is made on 1 September 2024 between Nordlys Consulting AS (the
Provider) and Fjord Shipping ASA (the Client), each a party and together the parties.
1. Services. The Provider shall deliver the consulting services described in Annex A.
2. Term. This agreement starts on the date above and runs for a term of twelve months.
3. Termination. Either party may terminate this agreement with three months written notice.
Termination does not affect rights that arose before the termination date.
4. Liability. The liability of each party is limited to the fees paid under this agreement.
5. Governing law. This agreement is governed by the laws of Norway."""

REPORT_PAGES = [
    """Quarterly Report, Third Quarter 2024
Summary of results. Revenue grew by twelve percent to 4.2 million euros compared with the
same quarter last year. Operating costs remained stable, so the operating margin improved.
Our analysis shows that demand in the northern region drove most of the growth.""",
    """Findings and outlook
The key findings of this quarterly analysis are: the new regional offices reached break-even,
delivery times fell from five days to three, and customer retention rose to 91 percent.
We expect revenue growth to continue in the fourth quarter. The results will be presented
to the board on 14 November.""",
]

LETTER = """Dear Ms. Jensen,
Thank you for your visit to our office last week. It was a pleasure to meet you and your
colleagues, and we look forward to seeing you again in the spring.
Yours sincerely,
Ole Hansen
Kind regards from all of us in Bergen."""

NOTICE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Annual Accessibility Report 2024</title>
<style>body { font-family: sans-serif } .promo { color: red }</style>
<script>var tracking = "invoice total amount due payment VAT";</script></head>
<body><h1>Annual Accessibility Report 2024</h1>
<p>This report presents the results of our yearly analysis of the city's public services.
Our findings show that 87 percent of the services now meet the accessibility standard,
up from 74 percent last year.</p>
<table><tr><th>Quarter</th><th>Services reviewed</th><th>Results</th></tr>
<tr><td>Q1</td><td>41</td><td>35 passed</td></tr><tr><td>Q2</td><td>38</td><td>34 passed</td></tr>
</table>
<div hidden>Invoice total amount due: payment by bank transfer, VAT included.</div>
<p>The full analysis and its quarterly results are published with this report.</p>
</body></html>
"""

REMINDER = """Dear Mr. Berg,

Thank you for your visit last week and for the good conversation about the spring plans.
As agreed, you will find the document we discussed attached to this message.

We look forward to seeing you again soon.

Kind regards,
Ole Hansen
"""
ATTACHMENT = "invoice-2024-118.pdf"

EXPECTED = {
    "invoice.jpg": "invoice",
    "contract.pdf": "contract",
    "report.tiff": "report",
    "letter.png": "letter",
    "notice.html": "report",
    "reminder.eml": "letter",
    f"reminder.eml > {ATTACHMENT}": "invoice",
}


def reminder() -> bytes:
    """A multipart e-mail as a mail client writes it, with a fixed boundary and dates."""
    message = EmailMessage()
    message["From"] = "Ole Hansen <ole@nordlys.example>"
    message["To"] = "Erik Berg <erik@fjord.example>"
    message["Subject"] = "After your visit"
    message["Date"] = "Mon, 07 Oct 2024 09:30:00 +0200"
    message["Message-ID"] = "<sample-reminder@nordlys.example>"
    message.set_content(REMINDER)
    attachment = render.text_pdf([INVOICE])
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename=ATTACHMENT)
    message.set_boundary("docpipe-sample-boundary")
    return message.as_bytes()


def content(page: render.Image.Image, bottom: int) -> render.Image.Image:
    """The top of the page down to `bottom` px: small files, still a 300 DPI scan."""
    return page.crop((0, 0, render.PAGE_PX[0], bottom))


def main() -> None:
    invoice = render.degrade(content(render.render_page(INVOICE), 1500), angle=1.2, noise=0.01)
    (HERE / "invoice.jpg").write_bytes(render.to_bytes(invoice, "JPEG", quality=55))
    (HERE / "contract.pdf").write_bytes(render.text_pdf([CONTRACT]))
    pages = [content(render.render_page(text), 1300) for text in REPORT_PAGES]
    (HERE / "report.tiff").write_bytes(render.multipage_tiff(pages))
    letter = content(render.render_page(LETTER), 1300).convert("1")
    (HERE / "letter.png").write_bytes(render.to_bytes(letter, "PNG", optimize=True))
    (HERE / "notice.html").write_text(NOTICE)
    (HERE / "reminder.eml").write_bytes(reminder())
    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=2, sort_keys=True) + "\n")
    for name in sorted(n for n in EXPECTED if (HERE / n).is_file()):
        print(f"{name:14} {(HERE / name).stat().st_size / 1024:7.1f} KB -> {EXPECTED[name]}")


if __name__ == "__main__":
    main()
