"""A customer's saved addresses as their pages and the checkout read them."""

from django.http import Http404

from ..models import Address

# The fields an address shares with an order (and with the checkout form).
ADDRESS_FIELDS = (
    "full_name",
    "company_name",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "country",
)


def address_list(*, user_id: int) -> list[Address]:
    """The customer's addresses, the default first, then oldest first (one query)."""
    return list(Address.objects.filter(user_id=user_id).order_by("-is_default", "pk"))


def address_get_for_user(*, user_id: int, address_id: int) -> Address:
    """The customer's address; Http404 for an address of someone else or none."""
    address = Address.objects.filter(pk=address_id, user_id=user_id).first()
    if address is None:
        raise Http404("No such address.")
    return address


def checkout_addresses(*, user) -> list[Address]:
    """What the checkout offers a signed-in customer (no query for a guest)."""
    if user is None or not user.is_authenticated:
        return []
    return address_list(user_id=user.pk)


def checkout_address_pick(addresses: list[Address], *, chosen: str | None) -> Address | None:
    """The address the checkout is filled with: `chosen` (an address id from the page's "Deliver
    here" links) when it is one of the customer's `addresses`, else their default."""
    if chosen and chosen.isdigit():
        pick = next((a for a in addresses if a.pk == int(chosen)), None)
        if pick is not None:
            return pick
    return next((a for a in addresses if a.is_default), None)


def address_initial(address: Address | None) -> dict[str, str]:
    """A form's initial values from a saved address ({} for none)."""
    return {} if address is None else {name: getattr(address, name) for name in ADDRESS_FIELDS}
