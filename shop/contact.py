"""How customers reach the shop: the contact settings, as the pages show them.

`SHOP_CONTACT_EMAIL`, `SHOP_CONTACT_PHONE`, `SHOP_ADDRESS` and `SHOP_SUPPORT_HOURS` (README) appear
in every page's footer (`includes/footer.html`), on the contact page and, through
`notifications.emails`, in every email's footer. An empty setting is left out wherever it would show.
"""

import re
from dataclasses import dataclass

from django.conf import settings

_NOT_DIALLED = re.compile(r"[^\d+]")
_WORDS = re.compile(r"[^\W\d_]")  # a letter: "ext. 2" and the like are not dialled


@dataclass(frozen=True)
class ShopContact:
    email: str
    phone: str
    address: str
    hours: str

    @property
    def phone_uri(self) -> str:
        """`tel:` link of the phone number: its digits up to the first word, and a leading "+" if it
        has one; '' when it has no digits."""
        digits = _NOT_DIALLED.sub("", _WORDS.split(self.phone, maxsplit=1)[0])
        return "tel:" + digits[:1] + digits[1:].replace("+", "") if digits else ""

    @property
    def address_lines(self) -> list[str]:
        """The address's comma-separated parts, one per line on the contact page."""
        return [part.strip() for part in self.address.split(",") if part.strip()]

    def __bool__(self) -> bool:
        return bool(self.email or self.phone or self.address)


def shop_contact() -> ShopContact:
    return ShopContact(
        email=settings.SHOP_CONTACT_EMAIL.strip(),
        phone=settings.SHOP_CONTACT_PHONE.strip(),
        address=settings.SHOP_ADDRESS.strip(),
        hours=settings.SHOP_SUPPORT_HOURS.strip(),
    )
