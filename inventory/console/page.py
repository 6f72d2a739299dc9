"""How a staff console page is answered: inside the admin's look (its context), with a strict
Content-Security-Policy (no script, no inline style; charts are inline SVG styled from
static/css/staff_console.css), and links to admin lists with their filters."""

from urllib.parse import urlencode

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def console_page(request, title: str, template: str, context: dict) -> TemplateResponse:
    response = TemplateResponse(
        request, template, {**admin.site.each_context(request), "title": title, **context}
    )
    response["Content-Security-Policy"] = CSP
    return response


def url_with_query(name: str, **params) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def restock_urls(variant_id: int) -> dict[str, str]:
    """The "Add stock", "Adjust stock" and "Record a stock count" pages opened on one variant, whether
    or not it has stock lines yet (the services create a line with its first change): linked from the
    stock list's search, the variant page and the backorder queue, so any variant can be restocked or
    counted. Each link's text is its page's title."""
    return {
        "add": url_with_query("admin:inventory_stockitem_add_stock", variant=variant_id),
        "adjust": url_with_query("admin:inventory_stockitem_adjust", variant=variant_id),
        "count": url_with_query("admin:inventory_stockitem_count", variant=variant_id),
    }
