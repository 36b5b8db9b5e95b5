"""The sandbox API: POST /sandbox/api/v1.1/<method>, answered as Altcraft would (§13).

Application errors are HTTP 200 with `error` in the body; other HTTP statuses only come from
injected faults. The token may be in the body or an `Authorization: Bearer` header and is only
ever compared by its SHA-256.
"""

import hashlib
import time

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from altcraft.codec import CONTENT_TYPES, PayloadError, decode, encode_json, encode_xml
from altcraft.error_codes import describe_error
from altcraft.operations import MAX_BYTES, OPERATIONS
from altcraft.validation import body_size_problem
from altcraft_sandbox import dedup, faults, ops
from altcraft_sandbox.changes import ItemError
from altcraft_sandbox.context import Call
from altcraft_sandbox.models import Token
from altcraft_sandbox.readers import READERS
from altcraft_sandbox.writers import WRITERS

MAX_BODY = MAX_BYTES
ACCEPTED_TYPES = {
    "application/json": "json",
    "text/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
}


class Refused(Exception):
    """The request is answered with an error before any handler runs."""

    def __init__(self, code: int, text: str, fmt: str = "json") -> None:
        super().__init__(text)
        self.code, self.text, self.fmt = code, text, fmt


def render(body: dict, fmt: str, status: int = 200) -> HttpResponse:
    content = encode_xml(body) if fmt == "xml" else encode_json(body)
    return HttpResponse(content, status=status, content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")


def error_body(code: int, text: str) -> dict:
    # The specific text names the field or limit; the code's description is the fallback.
    return {"error": code, "error_text": text or describe_error(code)}


def read_body(request: HttpRequest) -> bytes:
    """The raw body, read once. request.body refuses anything over
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), but Altcraft takes batches of up to 10 MB; reading
    one byte past that limit is enough to tell a body is too big."""
    return request.read(MAX_BODY + 1)


def body_format(request: HttpRequest, body: bytes) -> str:
    media = request.content_type.lower()
    if not media:
        # No Content-Type at all: read the body's first character (liberal in what we accept).
        start = body.lstrip()[:1]
        return "xml" if start == b"<" else "json"
    if media not in ACCEPTED_TYPES:
        raise Refused(
            415, f"Content-Type {media} is not supported; use application/json or application/xml"
        )
    return ACCEPTED_TYPES[media]


def read_call(request: HttpRequest, body: bytes, method: str) -> tuple[Call, str, str]:
    """(call, answer format, token SHA-256), or Refused."""
    fmt = body_format(request, body)
    op = OPERATIONS.get(method)
    if method not in OPERATIONS and method not in READERS and method not in WRITERS:
        raise Refused(501, f"method {method} does not exist", fmt)
    if too_large := body_size_problem(len(body)):
        raise Refused(400, too_large.message, fmt)
    try:
        payload = decode(body, fmt, operation=method if op else None)
    except PayloadError as exc:
        raise Refused(400, str(exc), fmt) from None
    # The answer's format may be asked in the body or, as the docs also allow, the URL.
    answer_fmt = payload.pop("format", None) or request.GET.get("format")
    answer_fmt = answer_fmt if isinstance(answer_fmt, str) and answer_fmt in CONTENT_TYPES else fmt
    token = payload.pop("token", None)
    auth = request.headers.get("Authorization", "")
    if not token and auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    if not token or not isinstance(token, str):
        raise Refused(
            401, "pass the token as token in the body or Authorization: Bearer", answer_fmt
        )
    sha = Token.digest(token)
    group_id = Token.objects.filter(sha256=sha).values_list("group_id", flat=True).first()
    if group_id is None:
        raise Refused(403, "unknown token", answer_fmt)
    count = len(payload["data"]) if isinstance(payload.get("data"), list) else 0
    if op and op.max_profiles and count > op.max_profiles:
        raise Refused(
            400, f"data: {count:,} profiles: at most {op.max_profiles:,} per request", answer_fmt
        )
    call = Call(method, payload, group_id, dedup.request_id_of(request), fmt)
    return call, answer_fmt, sha


def handle(request: HttpRequest, body: bytes, call: Call, fmt: str, token_sha: str) -> HttpResponse:
    if call.method in READERS:
        try:
            return render(READERS[call.method](call), fmt)
        except ItemError as exc:
            return render(error_body(exc.code, exc.text), fmt)
    key = dedup.key_for(request, body, token_sha, call.method)
    dedup.request_received.send(sender=Call, request_id=call.request_id, method=call.method)
    earlier = dedup.earlier_answer(key)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            row = dedup.claim(key, request, call.method)
            try:
                with transaction.atomic():
                    writer = WRITERS.get(call.method)
                    answer = writer(call) if writer else ops.run(call, body)
            except ItemError as exc:
                answer = error_body(exc.code, exc.text)
            response = render(answer, fmt)
            # Stored in the same transaction: a racing copy waiting on the key sees it whole.
            dedup.finish(row, response, answer["error"])
    except dedup.Duplicate:
        return dedup.earlier_answer(key) or render(error_body(500, "duplicate lost"), fmt)
    return response


def fail(request: HttpRequest, fault: faults.Fault, fmt: str, response: HttpResponse | None):
    """The injected failure; `response` is the real answer when the request was applied."""
    if fault.drop:
        return faults.drop_connection(request)
    if fault.timeout is not None:
        time.sleep(fault.timeout)
        return response
    if fault.malformed:
        whole = render({"error": 0, "error_text": "Successful operation", "profile_id": ""}, fmt)
        return HttpResponse(
            whole.content[: len(whole.content) // 2], content_type=whole["Content-Type"]
        )
    return render(error_body(500, f"injected HTTP {fault.status}"), fmt, status=fault.status or 500)


def respond(request: HttpRequest, body: bytes, method: str) -> HttpResponse:
    # Its own function so that the batch it read is freed when it returns, before the
    # collector resumes (else its first collection would walk the whole batch once).
    try:
        call, fmt, token_sha = read_call(request, body, method)
    except Refused as exc:
        return render(error_body(exc.code, exc.text), exc.fmt)
    return handle(request, body, call, fmt, token_sha)


@csrf_exempt
@login_not_required
@require_POST
def api(request: HttpRequest, method: str) -> HttpResponse:
    method = method.strip("/")
    body = read_body(request)
    try:
        fault = faults.for_request(request)
    except faults.FaultSyntaxError as exc:
        return render(error_body(400, str(exc)), "json", status=400)
    failing = False
    if fault is not None:
        faults.wait(fault)
        once_key = dedup.request_id_of(request) or hashlib.sha256(body).hexdigest()
        failing = faults.should_fail(fault, once_key)
        if failing and not fault.after:
            answer = fail(request, fault, "json", None)
            if answer is not None:
                return answer
    response = respond(request, body, method)
    if failing and fault.after:
        return fail(request, fault, "json", response) or response
    return response


@csrf_exempt
@login_not_required
@require_POST
def noop(request: HttpRequest) -> HttpResponse:
    """Reads the body and answers success: the floor for measuring a client's overhead."""
    read_body(request)
    return HttpResponse(b'{"error":0}', content_type="application/json")
