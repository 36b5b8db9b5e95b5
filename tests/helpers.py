"""Helpers the tests share: records, bulk files and batches, the sandbox API through the test
client, and processes of our own (workers, servers). Fixtures are in conftest.py."""

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import strategies as st

from altcraft import formats
from altcraft.channels import CHANNELS
from altcraft.codec import decode, decode_response, detect_format, encode_xml
from altcraft.operations import OPERATIONS
from altcraft_sandbox import seed
from profiles_ui import catalog, services
from profiles_ui.connections import get_connection
from profiles_ui.history import identifiers as found
from profiles_ui.models import Batch, Submission

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
# The documented Altcraft payloads (copied in with their sources; see golden/documented/).
EXAMPLES = GOLDEN / "documented"


# --- Documented payloads ------------------------------------------------------------------


def operation_of(path: Path) -> str | None:
    """'01-profiles-import.email-subscription.request.json' -> 'profiles/import'."""
    method = path.name.split(".", 1)[0].split("-", 1)[1]
    operation = method.replace("-", "/", 1)
    return operation if operation in OPERATIONS else None


def examples(pattern: str) -> list[Path]:
    return sorted(p for p in EXAMPLES.glob(pattern) if p.suffix != ".txt")


REQUESTS = [p for p in examples("*.request.*") if operation_of(p)]


def read(path: Path) -> dict:
    body = path.read_bytes()
    return decode(body, detect_format(body), operation=operation_of(path))


# --- Records ---------------------------------------------------------------------------------


def make_record(user=None, **fields) -> Submission:
    """A final record as services.submit() leaves it (token already a placeholder), its
    identifiers indexed: the body's, the answer's, and those its columns name."""
    values = {
        "user": user,
        "username": user.username if user else "someone",
        "role": "marketer",
        "connection": "sandbox",
        "operation": "profiles/import",
        "url": "http://sandbox/api/v1.1/profiles/import",
        "format": "json",
        "request_body": '{"token":"$ALTCRAFT_TOKEN","db_id":1,"matching":"email",'
        '"email":"ann@example.com","data":{"_fname":"Ann"}}',
        "response_body": '{"error":0,"error_text":"Successful operation","profile_id":"p1"}',
        "response_status": 200,
        "error": 0,
        "email": "ann@example.com",
        "matching": "email",
        "state": Submission.State.SUCCEEDED,
        **fields,
    }
    record = Submission.objects.create(**values)
    payload = services.payload_of(record.request_body.encode(), record.format, record.operation)
    columns = {name: getattr(record, name) for name in ("email", "phone", "profile_id")}
    raw = [*found.found_in(payload, record.results), *found.found_in(columns)]
    services.index_identifiers(record, raw, formats.DEFAULT_PHONE_REGION)
    return record


def recorded_batch(
    user, rows: list[dict], results, *, operation="profiles/import_batch", **answer
) -> Submission:
    """A batch request of `rows`, recorded and finalised as services leaves it: Altcraft
    answered error 0 with `results` per profile, unless `answer` says otherwise."""
    payload = {"db_id": 1, "matching": "email", "data": rows}
    sandbox = get_connection("sandbox")
    record = services.record_pending(
        user=user,
        connection=sandbox,
        operation=operation,
        body=services.request_body(payload, "json", sandbox),
        fmt="json",
        about=services.identifiers(payload),
        payload=payload,
    )
    fields = {"state": "succeeded", "response_status": 200, "error": 0, "results": results}
    return services.finalise(record, **{**fields, **answer})


def record_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<a href="/history/(\d+)/">#', response.content.decode())]


# --- Bulk ------------------------------------------------------------------------------------


COLUMNS = ["email", "first_name", "loyalty_level", "phone"]


def csv_bytes(rows: list[list], header: list[str] = COLUMNS, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def people(count: int, start: int = 0) -> list[list]:
    return [
        [f"user{i}@example.com", f"Name{i}", str(i % 7), f"+7900{i:07d}"]
        for i in range(start, start + count)
    ]


def upload(client, content: bytes, name: str = "list.csv", **options) -> Batch:
    data = {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"),
        "connection": "sandbox",
        "operation": "profiles/import_batch",
        "db_id": 1,
        "workflow_id": "",
        **options,
    }
    response = client.post(reverse("bulk_upload"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Batch.objects.latest("pk")


def map_columns(client, batch: Batch, fields: dict[str, str] | None = None, **options):
    """Post the mapping form with the automatic guesses, overridden by `fields`."""
    page = client.get(reverse("bulk_mapping", args=[batch.pk]))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"matching": "email", "empty_cells": "leave", "save_as": ""})
    for header, target in (fields or {}).items():
        i = batch.headers.index(header)
        field, _, sub = target.partition("+")
        data[f"field_{i}"], data[f"sub_{i}"] = field, sub
    for name, value in options.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(reverse("bulk_mapping", args=[batch.pk]), data)


def checked(client, content: bytes, fields: dict[str, str] | None = None, **options) -> Batch:
    batch = upload(client, content)
    response = map_columns(client, batch, fields, **options)
    assert response.status_code == 302, response.content.decode()[:3000]
    return wait_for_check(batch)


def send_checked(client, batch: Batch) -> Batch:
    """Confirm a checked batch's sending, as its preview page's button does."""
    response = client.post(reverse("bulk_preview", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    return batch


def wait_for_check(batch: Batch, seconds: float = 60) -> Batch:
    """The batch once its check has ended, in a worker or (immediate tasks) already."""
    deadline = time.monotonic() + seconds
    batch.refresh_from_db()
    while batch.state == Batch.State.CHECKING:
        assert time.monotonic() < deadline, f"batch {batch.pk} still checking"
        time.sleep(0.1)
        batch.refresh_from_db()
    return batch


IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


# --- The sandbox API through the test client ---------------------------------------------------


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


# --- Processes of our own ----------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL of the test database pytest-django created, for another process."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{db['NAME']}"))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not read its status yet


def wait_for(predicate, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


# A Redis database of its own, so this test neither takes nor leaves jobs in anyone's queue.
RQ_REDIS = "redis://127.0.0.1:6379/14"


def start_worker(settings, *command: str, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SANDBOX_BASE_URL": settings.SANDBOX_BASE_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ALTCRAFT_RETRY_BACKOFF": "0.01",
        "BULK_STREAMS": "1",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *command], cwd=ROOT, env=environment
    )


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
    worker.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Generated bad input, for the fuzz tests ---------------------------------------------------

# What people and attackers type: any text (lone surrogates too, sent as the bytes a raw client
# would send), NULs, huge and odd numbers, deep or odd JSON, wrong types, long runs.
ODD_VALUES = [
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff\ud800", "-1", "0", "2147483648",
    "18446744073709551616", "9" * 5000, "1e309", "NaN", "-0", "1.5", "true", "null", "[]",
    "{}", '{"action": "multiply", "value": 2}', '"\\ud800"', '{"a": "\\u0000"}',
    "9999-12-31", "0001-01-01", "<xml/>", "=1+1", "../../etc/passwd", "x" * 20_000,
]  # fmt: skip
odd_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(ODD_VALUES),
    st.integers(-(2**80), 2**80).map(str),
    st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)


def form_body(fields: dict[str, str]) -> bytes:
    """A form post's body as a browser or a script sends it; text that is not UTF-8 (a lone
    surrogate) goes as the bytes it would be."""

    def raw(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"))

    return "&".join(f"{raw(name)}={raw(value)}" for name, value in fields.items()).encode()


def post_form(client: Client, url: str, fields: dict[str, str], **headers: str):
    return client.generic(
        "POST",
        url,
        form_body(fields),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def get_query(client: Client, url: str, params: dict[str, str]):
    query = form_body(params).decode()
    return client.get(f"{url}?{query}")


FIELD_TYPES = ["string", "int", "float", "bool", "date", "tags", "object", "arr_object"]


def prime_every_field_type(resource_fields: dict | None = None) -> None:
    """Reference data as a seeded account would answer it, with a custom field of each type
    (f_string, f_int, ...), so that fuzzing reaches every kind of input with no HTTP call."""
    catalog.prime(
        get_connection("sandbox"),
        databases=[catalog.Database(1, "Clients")],
        database_fields={
            1: [catalog.FieldInfo(f"f_{kind}", f"A {kind}", kind) for kind in FIELD_TYPES]
        },
        resources=[catalog.Resource(1, "Everything", tuple(CHANNELS))],
        resource_fields=resource_fields or {},
        workflows=[catalog.Workflow(1, "Welcome", 1, True, ())],
    )
