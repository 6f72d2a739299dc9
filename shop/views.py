"""Customer pages of the catalog."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .models import WorkerHeartbeat


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/home.html", {})


def health(request: HttpRequest) -> JsonResponse:
    """Health check for load balancers: the database answers; when did a worker last run."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    return JsonResponse(
        {"status": "ok", "database": "ok", "worker_last_seen": beat.seen_at.isoformat() if beat else None}
    )
