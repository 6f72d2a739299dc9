"""A customer's saved addresses: add, change, delete, make default, and save one from the checkout.

Every function takes the customer's id and changes only that customer's rows: an address of
someone else is `AddressNotFound` (the pages answer 404), never changed. Each runs in one
transaction under the lock of the customer's row (`accounts.locks.account_user_lock`), so the
"one default per customer" constraint is kept by the code, not only caught by the database.
"""

from dataclasses import dataclass, fields

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..locks import account_user_lock
from ..models import Address

# How many addresses a customer may keep: plenty for a person, and a bound on what one account can
# store (the checkout lists them all).
ADDRESS_LIMIT = 20


class AddressError(Exception):
    """A change that cannot be made; the message says why, for the customer."""


class AddressNotFound(AddressError):
    """No such address of this customer (deleted in another tab, or someone else's)."""


@dataclass(frozen=True)
class AddressData:
    """What an address says, as cleaned by a form: the same fields as an order's address."""

    full_name: str
    address_line1: str
    city: str
    postcode: str
    country: str
    company_name: str = ""
    address_line2: str = ""

    @classmethod
    def from_mapping(cls, data) -> "AddressData":
        return cls(**{f.name: (data.get(f.name) or "") for f in fields(cls)})

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _customer_or_fail(user_id: int) -> None:
    if account_user_lock(user_id=user_id) is None:
        raise AddressNotFound(_("Your account no longer exists."))


def _address_of(*, user_id: int, address_id: int) -> Address:
    address = Address.objects.filter(pk=address_id, user_id=user_id).first()
    if address is None:
        raise AddressNotFound(_("That address is not in your account (it may have been deleted)."))
    return address


def _make_default(*, user_id: int, address: Address) -> None:
    """`address` becomes the one default: the others lose it first (the constraint is checked per
    statement)."""
    Address.objects.filter(user_id=user_id, is_default=True).exclude(pk=address.pk).update(is_default=False)
    if not address.is_default:
        address.is_default = True
        address.save(update_fields=["is_default"])


def _limit_check(user_id: int) -> None:
    if Address.objects.filter(user_id=user_id).count() >= ADDRESS_LIMIT:
        raise AddressError(
            ngettext(
                "You can keep at most %(limit)d address. Delete one you no longer use first.",
                "You can keep at most %(limit)d addresses. Delete one you no longer use first.",
                ADDRESS_LIMIT,
            )
            % {"limit": ADDRESS_LIMIT}
        )


@transaction.atomic
def address_create(*, user_id: int, data: AddressData, make_default: bool = False) -> Address:
    """Save a new address. The customer's first address is their default whatever `make_default` says."""
    _customer_or_fail(user_id)
    _limit_check(user_id)
    first = not Address.objects.filter(user_id=user_id).exists()
    address = Address.objects.create(user_id=user_id, is_default=False, **data.as_dict())
    if first or make_default:
        _make_default(user_id=user_id, address=address)
    return address


@transaction.atomic
def address_update(
    *, user_id: int, address_id: int, data: AddressData, make_default: bool = False
) -> Address:
    """Change one of the customer's addresses. Orders placed with it keep the address they were
    placed with (an order stores its own copy)."""
    _customer_or_fail(user_id)
    address = _address_of(user_id=user_id, address_id=address_id)
    for name, value in data.as_dict().items():
        setattr(address, name, value)
    address.save(update_fields=[*data.as_dict()])
    if make_default:
        _make_default(user_id=user_id, address=address)
    return address


@transaction.atomic
def address_set_default(*, user_id: int, address_id: int) -> Address:
    _customer_or_fail(user_id)
    address = _address_of(user_id=user_id, address_id=address_id)
    _make_default(user_id=user_id, address=address)
    return address


@transaction.atomic
def address_delete(*, user_id: int, address_id: int) -> Address | None:
    """Delete one of the customer's addresses. When it was the default, the oldest remaining one
    becomes the default; that address is returned (None: no new default)."""
    _customer_or_fail(user_id)
    address = _address_of(user_id=user_id, address_id=address_id)
    was_default = address.is_default
    address.delete()
    if not was_default:
        return None
    successor = Address.objects.filter(user_id=user_id).order_by("pk").first()
    if successor is not None:
        _make_default(user_id=user_id, address=successor)
    return successor


@transaction.atomic
def address_save_from_checkout(*, user_id: int, data: AddressData) -> Address:
    """The checkout's "Save this address to my account": after the order is placed, its address is
    kept. An address the customer already has (the same in every field, ignoring case and spaces)
    is not saved twice: that one is returned. It becomes the default when the customer had none."""
    _customer_or_fail(user_id)

    def key(values: dict) -> tuple:
        return tuple(" ".join(str(values[name]).split()).casefold() for name in sorted(values))

    wanted = key(data.as_dict())
    existing = Address.objects.filter(user_id=user_id)
    for address in existing:
        if key({name: getattr(address, name) for name in data.as_dict()}) == wanted:
            return address
    _limit_check(user_id)
    address = Address.objects.create(user_id=user_id, is_default=False, **data.as_dict())
    if not any(a.is_default for a in existing):
        _make_default(user_id=user_id, address=address)
    return address
