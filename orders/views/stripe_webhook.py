"""The endpoint Stripe posts its events to: /payments/stripe/webhook/ (docs/payments.md, "Webhooks").

No login and no CSRF token: the `Stripe-Signature` header, checked against STRIPE_WEBHOOK_SECRET,
is the authentication. What each event does: orders.services.stripe_events.
"""

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..services.stripe_events import StripeWebhookInvalid, stripe_webhook_receive
from ..stripe_api import StripeUnavailable

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """200 once the event is recorded (or was already); 400 for a body Stripe did not sign, so
    nothing is kept; 503 when Stripe could not be asked about it, so Stripe delivers it again."""
    if not settings.STRIPE_ENABLED:
        raise Http404("Card payments are off.")
    try:
        outcome = stripe_webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except StripeWebhookInvalid as exc:
        logger.warning("stripe webhook refused: %s", exc)
        return HttpResponseBadRequest("Invalid payload or signature.", content_type="text/plain")
    except StripeUnavailable as exc:
        logger.warning("stripe webhook: Stripe unavailable, asking for a retry: %s", exc)
        return HttpResponse("Stripe unavailable; deliver again.", status=503, content_type="text/plain")
    return JsonResponse({"received": outcome.event_id, "duplicate": outcome.duplicate})
