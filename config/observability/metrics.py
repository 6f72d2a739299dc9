"""`/metrics`: the numbers an operator pages on, in Prometheus' text format (docs/operations.md).

Protected by a bearer token (METRICS_TOKEN): unset, the endpoint does not exist (404); a request
without the token gets 401, with another token 403. The figures are read at scrape time
(config/observability/readings.py), so any number of web processes answer the same.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .readings import Readings, readings_get, webhook_failure_count


class _Collector:
    def __init__(self, readings: Readings) -> None:
        self.readings = readings

    def collect(self):
        r = self.readings
        rows = GaugeMetricFamily(
            "shop_outbox_rows",
            "Outbox emails not sent, by status (pending, sending, failed).",
            labels=["status"],
        )
        for status, count in r.outbox_rows.items():
            rows.add_metric([status], count)
        yield rows
        yield GaugeMetricFamily(
            "shop_outbox_oldest_pending_seconds",
            "Seconds the longest-waiting pending email has been due (created, or its retry time reached); "
            "0 when none is due.",
            value=r.outbox_oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "shop_allocation_requests_pending",
            "Variants whose waiting backorders an allocation pass has still to serve.",
            value=r.allocation_requests,
        )
        yield GaugeMetricFamily(
            "shop_allocation_request_oldest_seconds",
            "Age of the oldest allocation request; 0 when none.",
            value=r.allocation_oldest_seconds,
        )
        yield GaugeMetricFamily(
            "shop_worker_heartbeat_age_seconds",
            "Seconds since a Celery worker last ran the heartbeat task (every minute); +Inf when never.",
            value=r.heartbeat_age_seconds,
        )
        failures = CounterMetricFamily(
            "shop_stripe_webhook_failures",
            "Answers of 400 or more from the Stripe webhook endpoint, by class, since the cache was emptied.",
            labels=["class"],
        )
        for kind, count in r.webhook_failures.items():
            failures.add_metric([kind], count)
        yield failures
        yield GaugeMetricFamily(
            "shop_celery_broker_up", "1 when the broker answered this scrape, else 0.", value=int(r.broker_up)
        )
        lengths = GaugeMetricFamily(
            "shop_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        for queue, length in r.queue_lengths.items():
            lengths.add_metric([queue], length)
        yield lengths


def _authorized(request: HttpRequest) -> int:
    """200, or the status to refuse with: 401 without a bearer token, 403 with another one."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401
    if not hmac.compare_digest(given.strip().encode(), settings.METRICS_TOKEN.encode()):
        return 403
    return 200


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off (METRICS_TOKEN is not set).")
    status = _authorized(request)
    if status == 401:
        response = HttpResponse("A bearer token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if status == 403:
        return HttpResponse("Wrong token.\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(readings_get()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)


class WebhookFailureMiddleware:
    """Counts the Stripe webhook's answers of 400 or more (a wrong signing secret, Stripe unreachable,
    an error) for /metrics: a refused or failed event leaves no row (orders.services.stripe_events)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if response.status_code >= 400 and match is not None and match.url_name == "stripe_webhook":
            webhook_failure_count(status_code=response.status_code)
        return response
