"""Fixtures and helpers the sandbox tests share (this module holds no tests)."""

import json
import uuid
from dataclasses import dataclass

import pytest
from django.test import Client

from altcraft.codec import decode_response, encode_xml
from altcraft_sandbox import seed

CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes
    data: dict

    @property
    def error(self) -> int:
        return self.data["error"]

    @property
    def text(self) -> str:
        return self.data.get("error_text", "")


def encode(body: dict | str | bytes, fmt: str) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return encode_xml(body) if fmt == "xml" else json.dumps(body).encode()


def with_token(body: dict, token: str | None = None) -> dict:
    return {"token": token or seed.demo_token(), **body}


class Api:
    """Posts to the sandbox through the Django test client (no network)."""

    def __init__(self) -> None:
        self.client = Client()

    def post(
        self,
        method: str,
        body: dict | str | bytes,
        *,
        fmt: str = "json",
        request_id: str | None = "new",
        **headers,
    ) -> Answer:
        """Like the console, each post carries a fresh Request-ID unless told otherwise."""
        if isinstance(body, dict) and "token" not in body:
            body = with_token(body)
        if request_id:
            headers["Request-ID"] = str(uuid.uuid4()) if request_id == "new" else request_id
        response = self.client.post(
            f"/sandbox/api/v1.1/{method}",
            encode(body, fmt),
            content_type=headers.pop("content_type", CONTENT_TYPES[fmt]),
            headers=headers,
        )
        answer_fmt = "xml" if "xml" in response["Content-Type"] else "json"
        return Answer(
            response.status_code,
            dict(response.headers),
            response.content,
            decode_response(response.content, answer_fmt, method=method),
        )

    def profile(self, db_id: int = 1, **lookup) -> dict:
        answer = self.post("profiles/get", {"db_id": db_id, **lookup})
        assert answer.error == 0, answer.text
        return answer.data["profile"]


# Named with name= so test modules can import them without shadowing their arguments.
@pytest.fixture(name="sandbox")
def sandbox_fixture(db) -> None:
    seed.seed()


@pytest.fixture(name="api")
def api_fixture(sandbox) -> Api:
    return Api()


@pytest.fixture(name="live_sandbox")
def live_sandbox_fixture(live_server, transactional_db) -> str:
    """The sandbox API's base URL on a real HTTP server, seeded."""
    seed.seed()
    return f"{live_server.url}/sandbox/api/v1.1/"
