"""Request deduplication as the contract's decisions table adopts it (§8, §13).

A data-changing request is identified by its ``Request-ID`` header (older spelling
``X-Request-ID``) together with its token, or without one by a hash of token, method and body.
Within 24 hours a second request with the same key gets the first answer again, with
``Duplicate-Request: true`` and ``Duplicate-Key``, and changes nothing.
"""

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from altcraft_sandbox.models import ApiRequest

WINDOW = timedelta(hours=24)

# Sent when a data-changing API request arrives, before it is applied (or answered as a
# duplicate); arguments: request_id (the Request-ID header or ""), method.
request_received = Signal()


def request_id_of(request: HttpRequest) -> str:
    return (request.headers.get("Request-ID") or request.headers.get("X-Request-ID") or "")[:200]


def key_for(request: HttpRequest, body: bytes, token_sha256: str, method: str) -> str:
    request_id = request_id_of(request)
    if request_id:
        material = b"rid\n" + token_sha256.encode() + b"\n" + request_id.encode()
    else:
        material = b"body\n" + token_sha256.encode() + b"\n" + method.encode() + b"\n" + body
    return hashlib.sha256(material).hexdigest()


def earlier_answer(key: str) -> HttpResponse | None:
    """The stored answer to an earlier copy of this request, marked as a duplicate."""
    row = ApiRequest.objects.filter(key=key, received_at__gte=timezone.now() - WINDOW).first()
    if row is None:
        return None
    ApiRequest.objects.filter(pk=row.pk).update(duplicates=row.duplicates + 1)
    response = HttpResponse(bytes(row.response), status=row.status, content_type=row.content_type)
    response["Duplicate-Request"] = "true"
    response["Duplicate-Key"] = key
    return response


class Duplicate(Exception):
    """Another copy of this request was applied first (it won the unique key)."""


def claim(key: str, request: HttpRequest, method: str) -> ApiRequest:
    """Insert this request's row; call inside the transaction that applies the change.

    On PostgreSQL a racing copy blocks on the unique index until this transaction ends, then
    fails; on SQLite (IMMEDIATE transactions) the copies are serialised and the second sees
    the first's row. Either way only one copy is applied.
    """
    ApiRequest.objects.filter(key=key, received_at__lt=timezone.now() - WINDOW).delete()
    try:
        with transaction.atomic():
            return ApiRequest.objects.create(
                key=key, request_id=request_id_of(request), method=method
            )
    except IntegrityError:
        raise Duplicate(key) from None


def finish(row: ApiRequest, response: HttpResponse, error: int | None) -> None:
    row.status = response.status_code
    row.error = error
    row.content_type = response["Content-Type"]
    row.response = response.content
    row.save(update_fields=["status", "error", "content_type", "response"])


def received(request_id: str) -> bool:
    """Whether a data-changing request with this Request-ID was applied."""
    return ApiRequest.objects.filter(request_id=request_id).exists()
