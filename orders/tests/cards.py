"""Card orders in tests: the customer's browser (Stripe.js) played against the suite's localstripe.

`card_place(stripe, items, card=...)` does what the checkout page does: a Stripe customer and a
SetupIntent (orders.services.card_checkout_setup), the card confirmed as Stripe.js would
(`stripe.confirm_setup`, 3-D Secure completed when asked), then `order_place` with the
SetupIntent's id. `stripe` is the `stripe_settings` fixture.
"""

import uuid

from orders.services import card_checkout_setup, order_place
from orders.services.cards import PaymentActionRequired

from .helpers import ADDRESS

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"  # declined when saved
CARD_DECLINES_LATER = "4000000000000341"  # saved fine, every charge declined
CARD_3DS = "4000002500003155"  # the bank asks for 3-D Secure on each payment


def card_setup(stripe, *, card=CARD_OK, email="ada@example.com", key=None) -> str:
    """A confirmed SetupIntent's id for `card`, as the checkout page leaves it."""
    setup = card_checkout_setup(email=email, name="Ada Lovelace", key=key or uuid.uuid4().hex)
    answer = stripe.confirm_setup(setup.client_secret, card)
    if answer.get("status") == "requires_action":
        stripe.authenticate_setup(setup.client_secret, success=True)
    return setup.id


def card_place(stripe, items, *, card=CARD_OK, email="ada@example.com", policy="split", key=None, **kwargs):
    key = key or uuid.uuid4().hex
    setup_id = card_setup(stripe, card=card, email=email, key=key)
    params = dict(
        items=[(variant.pk, qty) for variant, qty in items],
        email=email,
        address=ADDRESS,
        shipping_method="standard",
        ship_policy=policy,
        payment_method="card",
        card_setup_intent=setup_id,
        accept_backorder_terms=True,
        idempotency_key=key,
        **kwargs,
    )
    try:
        return order_place(**params)
    except PaymentActionRequired as action:
        stripe.authenticate_payment(action.client_secret, success=True)
        return order_place(**params, card_payment_intent=action.intent_id)
