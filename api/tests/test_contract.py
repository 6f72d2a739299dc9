"""Contract fuzzing (schemathesis, pinned): every operation of /api/v1/schema/, loaded from the Django app
in process (WSGI), called with a key holding every scope on a small seeded shop: no server error, and
every response's status code, content type and body as the schema says.

Deterministic (Hypothesis derandomized, no example database) and bounded: EXAMPLES per operation,
half of them aimed at the seeded objects (a variant in stock and one waiting, their stock rows and
ledger, a purchase order, an order waiting for it), half at random ids. Both CI runs execute it.
"""

import itertools

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_key_create
from e2e.helpers import a_catalog
from inventory.models import StockItem, StockMovement
from orders.tests.helpers import place

pytestmark = pytest.mark.django_db

EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def connection_kept():
    """Requests made through WSGIHandler close the database connection at their end, as in production;
    the test's transaction must outlive them (Django's own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(connection_kept):
    catalog = a_catalog()
    order = place([(catalog.lantern, 1), (catalog.waiting, 2)]).order
    key, raw = api_key_create(
        name="Contract",
        scopes=["catalog:read", "stock:write", "purchasing", "orders"],
        created_by_id=None,
        rate_limit_per_minute=1_000_000,
    )
    ids = {
        "/api/v1/variants/{id}/": catalog.waiting.pk,
        "/api/v1/stock/{id}/": StockItem.objects.filter(variant=catalog.lantern).first().pk,
        "/api/v1/ledger/{id}/": StockMovement.objects.filter(variant=catalog.lantern).first().pk,
        "/api/v1/purchase-orders/{id}": catalog.po.pk,
    }
    named = {"number": order.number, "variant_id": catalog.waiting.pk}
    return raw, ids, named


def known_path_parameters(path: str, names: list[str], ids: dict, named: dict) -> dict | None:
    """The seeded object's parameters for this path, or None when nothing seeded fits."""
    values = {}
    for name in names:
        if name in named:
            values[name] = named[name]
        elif name == "id":
            match = [pk for prefix, pk in ids.items() if path.startswith(prefix.removesuffix("{id}/"))]
            if not match:
                return None
            values[name] = match[0]
        else:
            return None
    return values


def test_every_operation_keeps_the_contract(seeded):
    raw, ids, named = seeded
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", WSGIHandler())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the schema has no operation"
    counter = itertools.count()
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}

    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        known = known_path_parameters(operation.path, names, ids, named) if names else None
        strategy = operation.as_strategy()
        if known:
            strategy = st.one_of(strategy, operation.as_strategy(path_parameters=known))

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            headers = {"Authorization": f"Bearer {raw}"}
            if case.method.upper() == "POST":
                headers["Idempotency-Key"] = f"contract-{next(counter)}"
            # A failed request's database error must not abort the test's transaction for the others.
            savepoint = transaction.savepoint()
            try:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
            except BaseException:
                transaction.savepoint_rollback(savepoint)
                raise
            transaction.savepoint_commit(savepoint)
            label = f"{case.method.upper()} {case.operation.path}"
            statuses.setdefault(label, set()).add(response.status_code)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (collect every operation's failure)
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
    # The seeded shop gives every read something to answer: each GET answered 200 at least once.
    unanswered = sorted(op for op, codes in statuses.items() if op.startswith("GET ") and 200 not in codes)
    assert unanswered == []
