"""The signed link in a purchase order's email to its supplier (docs/inventory.md, "The supplier loop").

Whoever holds the link may see that one purchase order and answer it (confirm its date or propose
another), without an account: the token carries the order's id, is signed with a salt of its own
(so no other link of the shop opens it), and expires. It is made when the email is rendered, so a
reminder carries a fresh one. What the supplier did is recorded on the order, not here.
"""

from django.core import signing
from django.urls import reverse

SUPPLIER_PO_SALT = "inventory.supplier-purchase-order"
SUPPLIER_PO_MAX_AGE_DAYS = 90
SUPPLIER_PO_MAX_AGE = 60 * 60 * 24 * SUPPLIER_PO_MAX_AGE_DAYS


def make_supplier_po_token(purchase_order_id: int) -> str:
    return signing.TimestampSigner(salt=SUPPLIER_PO_SALT).sign_object({"po": purchase_order_id})


def read_supplier_po_token(token: str, *, max_age: int = SUPPLIER_PO_MAX_AGE) -> int | None:
    """The purchase order's id in a valid token; None when tampered with, expired or not ours."""
    try:
        payload = signing.TimestampSigner(salt=SUPPLIER_PO_SALT).unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError):
        return None
    value = payload.get("po") if isinstance(payload, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def supplier_po_path(purchase_order_id: int) -> str:
    return reverse("inventory:supplier_po", kwargs={"token": make_supplier_po_token(purchase_order_id)})
