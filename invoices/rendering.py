"""A document as people see it: HTML (templates/invoices/document.html) and its PDF (WeasyPrint).

Everything printed comes from the document's snapshot (seller, buyer, lines, totals per rate,
notes), in the document's language, with money and dates written by shop.formatting; nothing is
read from the order as it is now but its number and how it is paid (paid or payable). The PDF uses
the DejaVu Sans files of Debian's fonts-dejavu-core (Makefile: pdf-deps) and loads nothing else:
the URL fetcher refuses every address outside that folder, so no web font, CDN or image is fetched.
"""

import logging
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_percent
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from shop.formatting import BABEL_LOCALES, date_in_words

from .models import Document, DocumentKind

logger = logging.getLogger(__name__)

# Debian's fonts-dejavu-core: the one font the PDF embeds (Latin, Greek, Cyrillic; € and umlauts).
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}

# Gateways whose money is taken by the time an invoice is issued (the card is charged when the
# parcel ships, or before): their invoices say "Amount paid"; the invoice gateway's say "payable".
PAY_LATER_GATEWAYS = frozenset({"invoice"})


class RenderError(Exception):
    """The PDF could not be made (a missing font, a template error); retrying may help after a fix."""


def document_language(document: Document) -> str:
    return document.language or settings.LANGUAGE_CODE


def rate_in_words(rate) -> str:
    """A VAT rate in the active language: '19%', '7.5%' in English; '19 %', '7,5 %' in German."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    base = language.split("-")[0]
    locale = BABEL_LOCALES.get(base) or translation.to_locale(language)
    return format_percent(Decimal(str(rate)) / 100, locale=locale, decimal_quantization=False)


def _decimal(value) -> Decimal:
    return Decimal(str(value if value not in (None, "") else "0"))


def _paid(document: Document) -> bool:
    try:
        gateway = document.order.payment.gateway
    except ObjectDoesNotExist:
        return False
    return gateway not in PAY_LATER_GATEWAYS


def _labels(document: Document) -> tuple[str, str]:
    """(the tax point's label, the last line's label) for the document's kind."""
    if document.kind == DocumentKind.CREDIT_NOTE:
        return gettext("Refund date"), gettext("Amount refunded")
    if document.kind == DocumentKind.PREPAYMENT:
        return gettext("Payment date"), gettext("Amount paid")
    payable = gettext("Amount paid") if _paid(document) else gettext("Amount payable")
    return pgettext("tax point of an invoice", "Delivery date"), payable


def _buyer_country(buyer: dict) -> str:
    code = (buyer.get("country") or "").upper()
    if not code:
        return ""
    from django_countries import countries

    name = str(countries.name(code)) or code
    address = [str(line) for line in buyer.get("address") or []]
    return "" if any(name == line or code == line for line in address) else name


def document_context(document: Document, *, pdf: bool, pdf_url: str = "", back_url: str = "") -> dict:
    """What the template prints; call it inside `translation.override(document_language(document))`."""
    lines = [
        {
            **line,
            "quantity": line.get("quantity"),
            "unit_gross": _decimal(line.get("unit_gross")),
            "gross": _decimal(line.get("gross")),
            "rate_text": rate_in_words(line.get("rate") or 0),
        }
        for line in document.lines or []
    ]
    totals = [
        {
            "rate_text": rate_in_words(total.get("rate") or 0),
            "net": _decimal(total.get("net")),
            "vat": _decimal(total.get("vat")),
            "gross": _decimal(total.get("gross")),
        }
        for total in document.totals or []
    ]
    tax_point_label, payable_label = _labels(document)
    refers_to = document.refers_to
    corrects = None
    prepayment_number = ""
    if refers_to is not None and document.kind == DocumentKind.CREDIT_NOTE:
        corrects = {
            "number": refers_to.number,
            "date": date_in_words(timezone.localtime(refers_to.issued_at).date()),
        }
    elif refers_to is not None:
        prepayment_number = refers_to.number
    return {
        "document": document,
        "language": document_language(document),
        "title": str(document.get_kind_display()),
        "is_credit_note": document.kind == DocumentKind.CREDIT_NOTE,
        "seller": document.seller or {},
        "buyer": document.buyer or {},
        "buyer_country": _buyer_country(document.buyer or {}),
        "currency": document.currency,
        "issue_date": date_in_words(timezone.localtime(document.issued_at).date()),
        "tax_point": date_in_words(document.tax_point),
        "tax_point_label": tax_point_label,
        "payable_label": payable_label,
        "lines": lines,
        "totals": totals,
        "sum_net": sum((t["net"] for t in totals), Decimal("0")),
        "sum_vat": sum((t["vat"] for t in totals), Decimal("0")),
        "corrects": corrects,
        "prepayment_number": prepayment_number,
        # Notes are stored in English (the wording's msgid) and printed in the document's language.
        "notes": [gettext(note) for note in document.notes or []],
        "prices_include_vat": getattr(settings, "SHOP_PRICES_INCLUDE_VAT", True),
        "pdf": pdf,
        "stylesheet": _stylesheet() if pdf else "",
        "pdf_url": pdf_url,
        "back_url": back_url,
    }


def document_html(document: Document, *, pdf: bool = False, pdf_url: str = "", back_url: str = "") -> str:
    """The document as an HTML page, in its own language whatever the request's."""
    with translation.override(document_language(document)):
        context = document_context(document, pdf=pdf, pdf_url=pdf_url, back_url=back_url)
        return render_to_string("invoices/document.html", context)


@lru_cache(maxsize=1)
def _stylesheet() -> str:
    """The page's CSS (static/invoices/document.css) after the PDF's own font faces."""
    path = finders.find("invoices/document.css")
    if not path:
        raise RenderError("static/invoices/document.css is missing")
    faces = "".join(
        f'@font-face {{ font-family: "Invoice Sans"; font-weight: {weight}; '
        f'src: url("{(FONT_DIR / name).as_uri()}"); }}\n'
        for weight, name in FONT_FILES.items()
    )
    return faces + Path(path).read_text()


def _fonts_only_fetcher():
    """WeasyPrint's URL fetcher, limited to the font files: a document never fetches anything else."""
    from weasyprint.urls import URLFetcher

    allowed = {(FONT_DIR / name).as_uri() for name in FONT_FILES.values()}

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url not in allowed:
                raise ValueError(f"documents load no {url!r}")
            return super().fetch(url, headers)

    return FontsOnly(allowed_protocols={"file"}, allow_redirects=False)


def fonts_missing() -> list[str]:
    return [str(FONT_DIR / name) for name in FONT_FILES.values() if not (FONT_DIR / name).is_file()]


def document_pdf(document: Document) -> bytes:
    """The document's PDF (A4), rendered from its snapshot; the same bytes for the same document."""
    missing = fonts_missing()
    if missing:
        raise RenderError(
            f"the PDF font is missing: {', '.join(missing)} (apt-get install fonts-dejavu-core)"
        )
    from weasyprint import HTML

    html = document_html(document, pdf=True)
    # A fixed identifier and the issue time as the creation time (the page's meta tags): the same
    # snapshot gives the same bytes, so a second rendering (the email's, a retried task's) is the
    # stored one.
    return HTML(string=html, url_fetcher=_fonts_only_fetcher()).write_pdf(
        pdf_identifier=document.number.encode()
    )
