"""Fuzzing every customer form and URL parameter with hypothesis.

Quantities, SKUs, prices, tokens, addresses, unicode, huge numbers, NUL bytes and very long strings
go into listings, the product page, the cart, the checkout (with tampered price, SKU and quantity
fields), order links, the cancel form, "Notify me", and every signed link of an email. Whatever
comes in: never a server error, and never a changed stock number (stock levels and the stock
ledger), except when the checkout legitimately places an order: then exactly the cart's units are
allocated, at the server's prices, and nothing else moves.

Each example runs in its own transaction, rolled back afterwards (hypothesis' Django TestCase).
"""

from decimal import Decimal
from urllib.parse import quote

from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from config.tests.authz import PASSWORD, build_world, stock_snapshot
from inventory.models import StockItem, StockMovement
from notifications.tokens import make_confirm_token, make_unsubscribe_token
from orders.models import CustomerQuestion, Order, OrderLine
from orders.tests.helpers import ADDRESS, DECLINED_CARD, GOOD_CARD
from orders.tokens import (
    DELAY_CANCEL_SALT,
    DELAY_KEEP_SALT,
    EMAIL_PREFERENCES_SALT,
    FEEDBACK_SALT,
    make_link_token,
    make_order_token,
)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,  # nothing written to .hypothesis/ in the work tree
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow "explain" phase after a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Examples that make three or four requests each: fewer, so the file stays under a minute on PostgreSQL.
FUZZ_FLOW = settings(FUZZ, max_examples=50)

# Values that have broken shops before: NUL bytes, numbers beyond every column, floats, full-width
# and Arabic digits, markup, SQL, path tricks, right-to-left marks, and very long strings.
NASTY = [
    "",
    " ",
    "\x00",
    "1\x00",
    "TENT-2P\x00",
    "0",
    "-1",
    "-0",
    "1.5",
    "1e3",
    "1e309",
    "NaN",
    "Infinity",
    "9" * 30,
    "-" + "9" * 30,
    "18446744073709551616",
    "２",
    "٣",
    "0x10",
    " 7 ",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "%",
    "\u202etxt.exe",
    "null",
    "[]",
    "{}",
    "A" * 5000,
    "🙂" * 300,
    "TENT-2P",
    "tent-3p",
]
text = st.one_of(st.sampled_from(NASTY), st.text(max_size=300))
number = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=-5, max_value=1005).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
value = st.one_of(text, number)
# Fields a tampered form may carry: the server never reads prices, SKUs or quantities from the checkout.
TAMPERED_FIELDS = [
    "price",
    "unit_price",
    "total",
    "subtotal",
    "sku",
    "quantity",
    "variant",
    "lines-0-quantity",
]
tampered = st.dictionaries(st.sampled_from(TAMPERED_FIELDS), value, max_size=len(TAMPERED_FIELDS))
extra_params = st.dictionaries(st.text(min_size=1, max_size=20), value, max_size=3)


def path_part(s: str) -> str:
    return quote(s, safe="")


def has_nul(*parts) -> bool:
    """A NUL byte anywhere in the URL: config.middleware answers 400 before any view runs."""
    return any("\x00" in str(part) for part in parts)


@override_settings(RATELIMIT_ENABLE=False)  # a throttle's 429 would hide the form from the fuzzer
class FuzzCustomerInputs(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.world = build_world()

    def assert_no_server_error(self, response, allowed: set[int], where: str):
        event(f"status {response.status_code}")  # counted in --hypothesis-show-statistics
        self.assertLess(response.status_code, 500, where)
        self.assertIn(response.status_code, allowed, where)

    def assert_stock_unchanged(self):
        self.assertEqual(stock_snapshot(), self.stock_before)

    # --- the catalog ---------------------------------------------------------------------------

    @FUZZ
    @given(
        page=st.sampled_from(["home", "category", "search"]),
        sort=value,
        page_number=value,
        q=value,
        availability=value,
        extra=extra_params,
    )
    def test_listing_parameters(self, page, sort, page_number, q, availability, extra):
        self.stock_before = stock_snapshot()
        url = {
            "home": reverse("shop:home"),
            "category": reverse("shop:category", args=[self.world.category.slug]),
            "search": reverse("shop:search"),
        }[page]
        params = {**extra, "sort": sort, "page": page_number, "q": q, "availability": availability}

        response = self.client.get(url, params)

        expected = {400} if has_nul(*params, *params.values()) else {200}
        self.assert_no_server_error(response, expected, f"{url} {params!r}")
        self.assert_stock_unchanged()

    @FUZZ
    @given(variant=value, slug=st.one_of(st.just("alpine-tent"), text))
    def test_product_variant_parameter(self, variant, slug):
        self.stock_before = stock_snapshot()
        url = f"/p/{path_part(slug)}/"

        response = self.client.get(url, {"variant": variant})

        expected = {200} if slug == "alpine-tent" else {404, 301}
        if has_nul(slug, variant):
            expected = {400}
        self.assert_no_server_error(response, expected, f"{url}?variant={variant!r}")
        self.assert_stock_unchanged()

    # --- the cart ------------------------------------------------------------------------------

    @FUZZ
    @given(
        variant=st.one_of(st.sampled_from(["in_stock", "backorderable", "sold_out"]), value),
        quantity=st.one_of(number, text),
        next_url=st.one_of(st.just("/search/?q=tent"), st.just("https://evil.example/"), text),
        extra=tampered,
    )
    # Found by this test: a `next` that is not a path ("1 ") was resolved as a view name (a 500).
    @example(variant="in_stock", quantity="0", next_url="1 ", extra={})
    def test_add_to_cart(self, variant, quantity, next_url, extra):
        self.stock_before = stock_snapshot()
        if variant in ("in_stock", "backorderable", "sold_out"):
            variant = str(getattr(self.world, variant).pk)
        data = {**extra, "variant": variant, "quantity": quantity, "next": next_url}

        response = self.client.post(reverse("orders:cart_add"), data)

        self.assert_no_server_error(response, {302}, repr(data))
        self.assertFalse(response["Location"].startswith("https://evil.example"))
        self.assert_stock_unchanged()

    @FUZZ_FLOW
    @given(
        line=st.one_of(st.just("own"), st.integers(min_value=0, max_value=10**30).map(str)),
        quantity=st.one_of(number, text),
        remove=st.booleans(),
    )
    def test_update_cart_line(self, line, quantity, remove):
        self.client.post(reverse("orders:cart_add"), {"variant": self.world.in_stock.pk, "quantity": 1})
        self.stock_before = stock_snapshot()
        if line == "own":
            line = str(self.client.get(reverse("orders:cart")).context["summary"].lines[0].line.pk)
        url = f"/orders/cart/lines/{line}/" + ("remove/" if remove else "")

        response = self.client.post(url, {"quantity": quantity})

        self.assert_no_server_error(response, {302}, f"{url} {quantity!r}")
        self.assert_stock_unchanged()

    # --- the checkout --------------------------------------------------------------------------

    CHECKOUT_FIELDS = [
        "email",
        "full_name",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "country",
        "shipping_method",
        "ship_policy",
        "payment_method",
        "card_number",
        "accept_backorder_terms",
        "idempotency_key",
    ]

    @FUZZ_FLOW
    @given(
        broken=st.dictionaries(st.sampled_from(CHECKOUT_FIELDS), value, max_size=3),
        payment=st.sampled_from([("test_card", GOOD_CARD), ("test_card", DECLINED_CARD), ("invoice", "")]),
        extra=tampered,
    )
    def test_checkout(self, broken, payment, extra):
        """A valid submit places the order at the server's prices; anything else changes no stock."""
        w = self.world
        self.client.post(reverse("orders:cart_add"), {"variant": w.in_stock.pk, "quantity": 2})
        self.client.post(reverse("orders:cart_add"), {"variant": w.backorderable.pk, "quantity": 1})
        key = self.client.get(reverse("orders:checkout")).context["form"].initial["idempotency_key"]
        orders_before = set(Order.objects.values_list("pk", flat=True))
        self.stock_before = stock_snapshot()
        data = {
            "email": "ada@example.com",
            **ADDRESS,
            "shipping_method": "standard",
            "ship_policy": "split",
            "payment_method": payment[0],
            "card_number": payment[1],
            "accept_backorder_terms": "on",
            "idempotency_key": key,
            **extra,  # tampered fields ride along with every submit
            **broken,
        }

        response = self.client.post(reverse("orders:checkout"), data)

        self.assert_no_server_error(response, {200, 302}, repr(data))
        placed = Order.objects.exclude(pk__in=orders_before)
        if not placed.exists():
            self.assert_stock_unchanged()
            return
        event("order placed")
        order = placed.get()
        self.assertEqual(response.status_code, 302)
        lines = sorted(OrderLine.objects.filter(order=order).values_list("sku", "quantity", "unit_price"))
        self.assertEqual(lines, [("TENT-2P", 2, Decimal("120.00")), ("TENT-3P", 1, Decimal("150.00"))])
        item = StockItem.objects.get(variant=w.in_stock)
        levels_before = {pk: (on_hand, allocated) for pk, on_hand, allocated in self.stock_before[0]}
        self.assertEqual((item.on_hand, item.allocated), (10, levels_before[item.pk][1] + 2))
        new_movements = StockMovement.objects.exclude(pk__in=[row[0] for row in self.stock_before[1]])
        self.assertEqual(
            sorted(new_movements.values_list("stock_item_id", "on_hand_delta", "allocated_delta")),
            [(item.pk, 0, 2)],
        )

    # --- order pages ---------------------------------------------------------------------------

    @FUZZ
    @given(
        number=st.one_of(st.just("own"), st.just("other"), text),
        token=st.one_of(text, st.just("signed-for-fuzz")),
    )
    # Found by this test: on PostgreSQL a NUL byte in the order number was a database error (a 500).
    @example(number="\x00", token="")
    def test_order_page_tokens(self, number, token):
        self.stock_before = stock_snapshot()
        w = self.world
        number = {"own": w.order.number, "other": w.other_order.number}.get(number, number)
        if token == "signed-for-fuzz":
            token = make_order_token("BO-NOTHING")  # a genuine signature for another number
        url = f"/orders/{path_part(number)}/"

        response = self.client.get(url, {"token": token})

        # Fixed paths ("cart", "checkout", ...) are pages of their own; every order page needs the token.
        expected = {400} if has_nul(number, token) else {404, 200, 302, 301}
        self.assert_no_server_error(response, expected, f"{url} token={token!r}")
        if number in (w.order.number, w.other_order.number) and not has_nul(token):
            self.assertEqual(response.status_code, 404)
        self.assert_stock_unchanged()

    @FUZZ
    @given(
        quantities=st.dictionaries(
            st.sampled_from(["waiting", "allocated", "other_order", "unknown"]), value, max_size=4
        ),
        token=st.one_of(st.just("valid"), text),
    )
    def test_cancel_form(self, quantities, token):
        """Whatever is posted, at most the units still waiting on this order are cancelled."""
        self.stock_before = stock_snapshot()
        w = self.world
        line_ids = {
            "waiting": w.waiting_line.pk,
            "allocated": w.order.lines.get(variant=w.in_stock).pk,
            "other_order": w.other_order.lines.get().pk,
            "unknown": 10**12,
        }
        data = {f"line_{line_ids[name]}": qty for name, qty in quantities.items()}
        data["token"] = w.tokens["order"] if token == "valid" else token
        lines_before = list(
            OrderLine.objects.order_by("pk").values_list("pk", "quantity", "quantity_allocated")
        )

        response = self.client.post(reverse("orders:cancel", args=[w.order.number]), data)

        self.assert_no_server_error(response, {302} if token == "valid" else {302, 404}, repr(data))
        self.assert_stock_unchanged()
        # Quantities and allocations of every line are as they were; only waiting units may go.
        lines_after = list(
            OrderLine.objects.order_by("pk").values_list("pk", "quantity", "quantity_allocated")
        )
        self.assertEqual(lines_after, lines_before)
        waiting = OrderLine.objects.get(pk=w.waiting_line.pk)
        self.assertEqual(waiting.quantity_backordered + waiting.quantity_cancelled, 2)
        if token != "valid":
            self.assertEqual(waiting.quantity_cancelled, 0)

    # --- back-in-stock alerts and the links in emails ----------------------------------------------

    @FUZZ
    @given(
        variant=st.one_of(st.sampled_from(["sold_out", "in_stock"]), st.integers(0, 10**30).map(str)),
        email=value,
        signed_in=st.booleans(),
        method=st.sampled_from(["GET", "POST"]),
    )
    def test_notify_me(self, variant, email, signed_in, method):
        self.stock_before = stock_snapshot()
        if variant in ("sold_out", "in_stock"):
            variant = getattr(self.world, variant).pk
        if signed_in:
            self.client.force_login(self.world.users["bob"])
        url = f"/notifications/notify-me/{variant}/"

        response = self.client.post(url, {"email": email}) if method == "POST" else self.client.get(url)

        self.assert_no_server_error(response, {200, 302, 400, 404}, f"{method} {url} {email!r}")
        self.assert_stock_unchanged()

    LINKS = {
        "confirm": "/notifications/confirm/{}/",
        "unsubscribe": "/notifications/unsubscribe/{}/",
        "delay_keep": "/orders/delays/{}/keep-waiting/",
        "delay_cancel": "/orders/delays/{}/cancel/",
        "feedback": "/orders/feedback/{}/",
        "email_preferences": "/orders/email-preferences/{}/",
    }
    # Genuine signatures around payloads that name nothing, or are of the wrong type.
    SIGNERS = {
        "confirm": lambda v: make_confirm_token(v) if isinstance(v, int) else make_unsubscribe_token(str(v)),
        "unsubscribe": lambda v: make_confirm_token(v) if isinstance(v, int) else make_confirm_token(0),
        "delay_keep": lambda v: make_link_token(DELAY_KEEP_SALT, v),
        "delay_cancel": lambda v: make_link_token(DELAY_CANCEL_SALT, v),
        "feedback": lambda v: make_link_token(FEEDBACK_SALT, v),
        "email_preferences": lambda v: make_link_token(
            EMAIL_PREFERENCES_SALT, v if isinstance(v, int) else ""
        ),
    }

    @FUZZ
    @given(
        link=st.sampled_from(sorted(LINKS)),
        token=st.one_of(
            text,
            # Ids no row can have (none is below 1 or above 10**12): a small id could be a real
            # subscription, notice or feedback of the test data, and its link a valid one.
            st.tuples(
                st.just("signed"),
                st.one_of(st.integers(-(10**20), 0), st.integers(10**12, 10**20), st.text(max_size=50)),
            ),
        ),
        method=st.sampled_from(["GET", "POST"]),
        form=st.dictionaries(st.sampled_from(["rating", "comment", "non_essential"]), value, max_size=3),
    )
    def test_email_link_tokens(self, link, token, method, form):
        """A token that is not one we made (or that names nothing) gets the "link not valid" page."""
        self.stock_before = stock_snapshot()
        if isinstance(token, tuple):
            token = self.SIGNERS[link](token[1])
        url = self.LINKS[link].format(path_part(token))

        response = self.client.post(url, form) if method == "POST" else self.client.get(url)

        # 404: the token does not fit the URL pattern (empty, or a slash once decoded).
        expected = {400} if has_nul(token) else {400, 404}
        self.assert_no_server_error(response, expected, f"{method} {url}")
        self.assert_stock_unchanged()

    @FUZZ
    @given(rating=value, comment=value, extra=extra_params)
    def test_feedback_form(self, rating, comment, extra):
        self.stock_before = stock_snapshot()
        url = reverse("orders:feedback", args=[self.world.tokens["feedback"]])

        response = self.client.post(url, {**extra, "rating": rating, "comment": comment})

        self.assert_no_server_error(response, {200, 400}, f"{rating!r} {comment!r}")
        self.assert_stock_unchanged()

    @FUZZ
    @given(
        subject=st.one_of(st.sampled_from(["when_ship", "change_cancel", "other"]), value),
        message=value,
        token=st.one_of(st.just("order"), text),
        extra=extra_params,
    )
    @example(subject="other", message="Where is it?\x00", token="order", extra={})
    @example(subject="when_ship", message="\x1b[2J" + "x" * 1990, token="order", extra={})
    def test_question_form(self, subject, message, token, extra):
        """The "Ask about this order" form records a question (302) only with the order's token and
        valid input; anything else is a form error (400) or not found (404), and records nothing."""
        self.stock_before = stock_snapshot()
        questions_before = CustomerQuestion.objects.count()
        token = self.world.tokens["order"] if token == "order" else token
        url = reverse("orders:question", args=[self.world.order.number])

        response = self.client.post(url, {**extra, "token": token, "subject": subject, "message": message})

        valid_token = token == self.world.tokens["order"]
        self.assert_no_server_error(
            response, {302, 400} if valid_token else {404}, f"{subject!r} {message!r}"
        )
        asked = CustomerQuestion.objects.count() - questions_before
        self.assertEqual(asked, 1 if response.status_code == 302 else 0)
        self.assert_stock_unchanged()

    # --- account forms -------------------------------------------------------------------------

    @FUZZ
    @given(
        form=st.sampled_from(["login", "signup", "password_reset", "email_preferences"]),
        fields=st.dictionaries(
            st.sampled_from(["username", "password", "email", "password1", "password2", "non_essential"]),
            value,
            max_size=5,
        ),
    )
    def test_account_forms(self, form, fields):
        self.stock_before = stock_snapshot()
        if form == "email_preferences":
            self.client.force_login(self.world.users["alice"])
        elif form == "login" and "username" not in fields:
            fields = {**fields, "username": "alice@example.com", "password": fields.get("password", PASSWORD)}

        response = self.client.post(
            reverse(form if form != "email_preferences" else "orders:email_preferences"), fields
        )

        self.assert_no_server_error(response, {200, 302}, f"{form} {fields!r}")
        self.assert_stock_unchanged()
