"""HTTP client for the Altcraft API: one pooled session per connection, no Django.

The client never holds a token. Callers hand it a body in which the token is the placeholder
`TOKEN_PLACEHOLDER` (that body is what the history stores); the real token is put in only for
the bytes that go over the wire, or into the Authorization header, and never into an exception,
a log line or a repr.
"""

import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter

from altcraft.codec import PayloadError, decode_response

logger = logging.getLogger(__name__)

TOKEN_PLACEHOLDER = "$ALTCRAFT_TOKEN"  # noqa: S105 - a placeholder, not a token
CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}
# Headers worth keeping from an answer: deduplication (both documented spellings) and type.
KEPT_HEADERS = (
    "Content-Type",
    "Duplicate-Request",
    "X-Duplicate-Request",
    "Duplicate-Key",
    "X-Duplicate-Key",
)
# Gateway errors mean the request may not have reached Altcraft: safe to retry with the same
# Request-ID. Any other status carries Altcraft's own answer and is never retried.
GATEWAY_STATUSES = frozenset({502, 503, 504})

TokenPlacement = Literal["body", "bearer"]


class TransportError(Exception):
    """The request may or may not have reached Altcraft: connect error, timeout, reset."""

    def __init__(self, reason: str, *, attempts: int, duration_ms: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.duration_ms = duration_ms


@dataclass
class AltcraftResponse:
    request_id: uuid.UUID
    status: int
    headers: dict[str, str]
    body: str
    duration_ms: float
    attempts: int
    data: dict[str, Any] | None = None
    bad_response: str = ""
    error: int | None = None
    error_text: str = ""
    profile_id: str = ""
    results: list[dict[str, Any]] | None = field(default=None)

    @property
    def ok(self) -> bool:
        """Success is `error == 0` in the body, whatever the HTTP status says."""
        return not self.bad_response and self.error == 0

    @property
    def duplicate(self) -> bool:
        value = self.headers.get("Duplicate-Request") or self.headers.get("X-Duplicate-Request")
        return (value or "").lower() == "true"


def token_field(fmt: str, token: str) -> bytes:
    """The exact bytes of the body's token entry, as the codec writes it first in the body."""
    if fmt == "json":
        return b'"token":' + json.dumps(token, ensure_ascii=False).encode()
    escaped = token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<token>{escaped}</token>".encode()


class AltcraftClient:
    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.5,
        pool_size: int = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"AltcraftClient({self.base_url!r})"

    def url(self, method: str) -> str:
        return f"{self.base_url}v1.1/{method}"

    def send(
        self,
        method: str,
        body: bytes,
        *,
        fmt: str,
        token: str,
        token_placement: TokenPlacement = "body",  # noqa: S107 - a placement
        request_id: uuid.UUID | None = None,
    ) -> AltcraftResponse:
        """POST `body` (token as placeholder) to `method`; retry transport failures only.

        Every attempt carries the same Request-ID, so Altcraft's deduplication answers a retry
        of a request that did arrive with the first answer instead of applying it twice.
        """
        request_id = request_id or uuid.uuid4()
        headers = {"Content-Type": CONTENT_TYPES[fmt], "Request-ID": str(request_id)}
        if token_placement == "bearer":  # noqa: S105 - a placement, not a secret
            headers["Authorization"] = f"Bearer {token}"
        else:
            placeholder = token_field(fmt, TOKEN_PLACEHOLDER)
            if placeholder not in body:
                raise ValueError("the body has no token placeholder to put the token in")
            body = body.replace(placeholder, token_field(fmt, token), 1)
        url = self.url(method)
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self.session.post(url, data=body, headers=headers, timeout=self.timeout)
                if answer.status_code not in GATEWAY_STATUSES or attempt > self.retries:
                    break
                reason = f"HTTP {answer.status_code} from a gateway"
            except requests.RequestException as exc:
                reason = describe_transport_failure(exc)
                if attempt > self.retries:
                    duration_ms = (time.perf_counter() - started) * 1000
                    logger.warning("POST %s failed after %d attempts: %s", url, attempt, reason)
                    raise TransportError(
                        reason, attempts=attempt, duration_ms=duration_ms
                    ) from None
            logger.info("POST %s attempt %d failed (%s); retrying", url, attempt, reason)
            time.sleep(self.backoff * 2 ** (attempt - 1))
        duration_ms = (time.perf_counter() - started) * 1000
        response = read_response(answer, request_id, duration_ms, attempt, token)
        logger.info(
            "POST %s -> HTTP %s error=%s in %.0f ms",
            url,
            response.status,
            response.error,
            duration_ms,
        )
        return response


def describe_transport_failure(exc: requests.RequestException) -> str:
    # Our own words, not str(exc): a library message may quote the request it failed on.
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting to Altcraft"
    if isinstance(exc, requests.ReadTimeout):
        return "timed out waiting for Altcraft's answer"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake with Altcraft failed"
    if isinstance(exc, requests.ConnectionError):
        return "connection to Altcraft failed or was reset"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection closed in the middle of Altcraft's answer"
    return f"request failed ({type(exc).__name__})"


def sniff_format(content_type: str, body: bytes) -> str | None:
    if "json" in content_type:
        return "json"
    if "xml" in content_type:
        return "xml"
    start = body.lstrip()[:1]
    return {b"{": "json", b"<": "xml"}.get(start)


def read_response(
    answer: requests.Response,
    request_id: uuid.UUID,
    duration_ms: float,
    attempts: int,
    token: str,
) -> AltcraftResponse:
    text = answer.content.decode("utf-8", errors="replace")
    if token:
        text = text.replace(token, TOKEN_PLACEHOLDER)
    response = AltcraftResponse(
        request_id=request_id,
        status=answer.status_code,
        headers={name: answer.headers[name] for name in KEPT_HEADERS if name in answer.headers},
        body=text,
        duration_ms=duration_ms,
        attempts=attempts,
    )
    fmt = sniff_format(answer.headers.get("Content-Type", ""), answer.content)
    if fmt is None:
        response.bad_response = "the answer is neither JSON nor XML"
        return response
    try:
        data = decode_response(answer.content, fmt)
    except PayloadError as exc:
        response.bad_response = f"the answer is not valid {fmt.upper()}: {exc}"
        return response
    return fill_from_envelope(response, data)


def fill_from_envelope(response: AltcraftResponse, data: Any) -> AltcraftResponse:
    if not isinstance(data, Mapping) or "error" not in data:
        response.bad_response = "the answer has no error field"
        return response
    try:
        response.error = int(data["error"])
    except (TypeError, ValueError):
        response.bad_response = f"the answer's error field is not a number: {data['error']!r}"
        return response
    response.data = dict(data)
    # workflows/list documents "error text" with a space; read both spellings.
    response.error_text = str(data.get("error_text", data.get("error text", "")) or "")
    response.profile_id = str(data.get("profile_id") or "")
    results = data.get("result")
    if isinstance(results, list):
        response.results = [item if isinstance(item, dict) else {"value": item} for item in results]
    return response
