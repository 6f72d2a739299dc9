"""Locust scenario for the shop: customers browse, fill a cart and check out, some with backorders.

Run through `make load` (load/run.py), which creates the catalog this file
reads (LOAD_CATALOG, a JSON file), starts gunicorn and a Celery worker, runs
three phases and checks the database afterwards. The user classes:

* `Shopper`: the mixed scenario. Browses the home page, the category listing
  and product pages; one visit in four buys: an in-stock item, and often a
  backordered one too (0 in stock, or scarce stock with a backorder limit, so
  refusals happen), then the checkout page, the order and the order page.
* `TrivialViewProbe`, `ListingProbe`, `HomeProbe` and `ProductProbe`: no think
  time, one URL each (the product page: the first in-stock item), so each
  page's requests/s reads as a ratio of the trivial view's (/healthz: the
  database answers SELECT 1 plus one query).
"""

import itertools
import json
import os
import random
import re
from pathlib import Path

from locust import FastHttpUser, between, constant, task

CATALOG = json.loads(Path(os.environ["LOAD_CATALOG"]).read_text()) if os.environ.get("LOAD_CATALOG") else {}
THINK_MAX = float(os.environ.get("LOAD_THINK_MAX", "1.0"))
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"|value="([^"]+)"[^>]*name="idempotency_key"')
REFUSALS = ("out of stock", "backorders for this item are full", "can be ordered", "availability changed")
_customer_numbers = itertools.count(1)


def _listing_path() -> str:
    return f"/c/{CATALOG['category']}/"


class Shopper(FastHttpUser):
    wait_time = between(THINK_MAX / 5, THINK_MAX)

    def on_start(self):
        self.number = next(_customer_numbers)
        self.orders = 0

    @task(2)
    def home(self):
        self.client.get("/", name="home")

    @task(6)
    def listing(self):
        self.client.get(_listing_path(), name="catalog listing")

    @task(6)
    def product(self):
        item = random.choice(CATALOG["products"])
        self.client.get(item["path"], name="product page")

    @task(5)
    def buy(self):
        basket = [random.choice(CATALOG["in_stock"])]
        if random.random() < 0.6:
            basket.append(random.choice(CATALOG["backorder"] + CATALOG["scarce"]))
        for item in basket:
            if not self._add_to_cart(item):
                return
        self._checkout()

    def _add_to_cart(self, item: dict) -> bool:
        with self.client.get(item["path"], name="product page", catch_response=True) as page:
            token = CSRF_RE.search(page.text or "")
            if token is None:  # sold out and backorders full: no add-to-cart form
                if "backorders for this item are full" in (page.text or "").lower():
                    page.request_meta["name"] = "product page (refused: backorders full)"
                    page.success()
                else:
                    page.failure("no add-to-cart form")
                return False
        fields = {
            "csrfmiddlewaretoken": token.group(1),
            "variant": item["variant"],
            "quantity": 1,
            "next": item["path"],
        }
        with self.client.post(
            "/orders/cart/add/", data=fields, name="add to cart", allow_redirects=False, catch_response=True
        ) as added:
            if added.status_code != 302:
                added.failure(f"add to cart: {added.status_code}")
                return False
            if not added.headers.get("Location", "").endswith(
                "/orders/cart/"
            ):  # refused: back to the product
                added.request_meta["name"] = "add to cart (refused)"
                self._empty_cart()
                return False
            return True

    def _checkout(self) -> None:
        form = self.client.get("/orders/checkout/", name="checkout page")
        token, key = CSRF_RE.search(form.text or ""), KEY_RE.search(form.text or "")
        if token is None or key is None:
            return
        self.orders += 1
        fields = {
            "csrfmiddlewaretoken": token.group(1),
            "idempotency_key": key.group(1) or key.group(2),
            "email": f"c{self.number}-{self.orders}@{CATALOG['email_domain']}",
            "full_name": "Load Customer",
            "address_line1": "1 Queue Street",
            "address_line2": "",
            "city": "London",
            "postcode": "N1 9GU",
            "country": "GB",
            "shipping_method": "standard",
            "ship_policy": "split",
            "payment_method": "test_card",
            "card_number": "4242424242424242",
            "accept_backorder_terms": "on",
        }
        with self.client.post(
            "/orders/checkout/", data=fields, name="place order", allow_redirects=False, catch_response=True
        ) as placed:
            if placed.status_code == 302:
                location = placed.headers.get("Location", "")
            elif placed.status_code == 200 and any(r in (placed.text or "").lower() for r in REFUSALS):
                placed.request_meta["name"] = "place order (refused: availability)"
                placed.success()
                self._empty_cart()
                return
            else:
                placed.failure(f"place order: {placed.status_code}")
                return
        self.client.get(location, name="order page")

    def _empty_cart(self) -> None:
        """After a refusal, start the next visit with an empty cart (a new browser session)."""
        self.client.cookiejar.clear()


class TrivialViewProbe(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/healthz", name="trivial view (/healthz)")


class ListingProbe(FastHttpUser):
    wait_time = constant(0)

    @task
    def listing(self):
        self.client.get(_listing_path(), name="catalog listing")


class HomeProbe(FastHttpUser):
    wait_time = constant(0)

    @task
    def home(self):
        self.client.get("/", name="home page")


class ProductProbe(FastHttpUser):
    wait_time = constant(0)

    @task
    def product(self):
        self.client.get(CATALOG["in_stock"][0]["path"], name="product page")
