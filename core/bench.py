"""Benchmark-only views, mounted under /_bench/ when HOLDFAST_BENCH_ENDPOINTS is on (`make bench`).

Two ceilings every figure of the benchmark is compared with, served by the same gunicorn workers,
through the same middleware, on the same database:

- `trivial`: a JSON answer that touches nothing: the cost of Django and gunicorn themselves;
- `insert`: one INSERT in a transaction into `bench_ping`, a table the benchmark creates by SQL in
  its own database (no migration): the cost of the smallest possible write.

`queries` counts the SQL statements of one request: it replays the request through the whole
middleware stack in-process (Django's test client, with the caller's cookies) and returns the count.
The timed requests never pass through it, so counting costs them nothing.
"""

from django.db import connection, transaction
from django.http import JsonResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

PING_TABLE = "bench_ping"


@require_GET
def trivial(request):
    return JsonResponse({"ok": True})


@csrf_exempt  # a ceiling, not a form: the bench posts it without a token
@require_POST
def insert(request):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {PING_TABLE} (created_at) VALUES (now()) RETURNING id")  # noqa: S608
        (ping_id,) = cursor.fetchone()
    return JsonResponse({"ok": True, "id": ping_id})


@csrf_exempt
def queries(request):
    """Replay `?path=` (GET, or POST with this request's body) with this request's cookies; count its SQL."""
    target = request.GET.get("path", "")
    if not target.startswith("/") or target.startswith("/_bench/"):
        return JsonResponse({"detail": "path must be a site path outside /_bench/."}, status=400)
    client = Client(HTTP_HOST=request.get_host(), HTTP_COOKIE=request.META.get("HTTP_COOKIE", ""))
    with CaptureQueriesContext(connection) as captured:
        if request.method == "POST":
            response = client.post(target, data=request.body, content_type=request.content_type)
        else:
            response = client.get(target)
    statements = [query["sql"] for query in captured.captured_queries]
    body = {"path": target, "status": response.status_code, "queries": len(statements)}
    if request.GET.get("sql"):
        body["sql"] = statements
    return JsonResponse(body)


urlpatterns = [
    path("trivial", trivial, name="trivial"),
    path("insert", insert, name="insert"),
    path("queries", queries, name="queries"),
]
