"""The availability badge: its short text and its HTML, written one way for every page.

The storefront's templates show it through `shop_tags` (`availability_short`, `availability_badge`,
`card_badge`) and the page cache (`shop.cache`) renders the badges of a cached listing grid with the
same functions, so a cached card and a freshly rendered one are the same bytes. Below both: it
imports only the availability vocabulary of `inventory.selectors`.
"""

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from inventory.selectors import Availability, AvailabilityStatus

from .formatting import date_short


def availability_short(availability: Availability | None) -> str:
    """The short label of a badge: 'In stock', 'Only 2 left', 'Backorder: ships by 1 Dec', ..."""
    if availability is None:
        return ""
    if availability.status == AvailabilityStatus.LOW_STOCK:
        return _("Only %(count)s left") % {"count": availability.sellable_now}
    if availability.status == AvailabilityStatus.BACKORDER and availability.expected_date:
        return _("Backorder: ships by %(date)s") % {"date": date_short(availability.expected_date)}
    return availability.label


def availability_badge_html(availability: Availability | None) -> SafeString:
    """A short availability label; the text says it all, the colour only repeats it. '' for None."""
    if availability is None:
        return SafeString("")
    return format_html(
        '<span class="badge availability-badge availability-{}">{}</span>',
        availability.status,
        availability_short(availability),
    )


def card_badge_html(availability: Availability | None) -> SafeString:
    """The badge line of a product card (shop/cache.py caches cards without it); '' for None."""
    if availability is None:
        return SafeString("")
    return format_html('<p class="card-text mb-2">{}</p>', availability_badge_html(availability))
