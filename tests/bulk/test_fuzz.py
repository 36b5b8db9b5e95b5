"""Generated files and values in the bulk upload and mapping forms: never a server error, a
refusal names its field, and a refused upload leaves no file behind."""

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles_ui.models import Batch
from tests.helpers import get_query, odd_text, post_form, prime_every_field_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def marketer(client_for, settings):
    """A marketer, with reference data as a seeded account would answer it (no HTTP)."""
    settings.ALTCRAFT_RETRIES = 0
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/sandbox/api/"
    cache.clear()
    prime_every_field_type()
    yield client_for("marketer")
    cache.clear()


# Files as they come, and as they break: encodings, BOMs, NULs, deep JSON, cut arrays.
file_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b"\xef\xbb\xbf",
            "\ufeffemail;Телефон\na@b.ru;8 903 157 19 45\n".encode("utf-16"),
            "email,Имя\na@b.ru,Ян\n".encode("cp1251"),
            b"email,na\x00me\na@b.ru,x\n",
            b"email,name\na@b.ru,x\x00y\n",
            b'{"a":' * 20_000 + b"1" + b"}" * 20_000 + b"\n",
            b"[" * 20_000 + b"]" * 20_000,
            b'[{"email": "a@b.ru"}, {"email": ',
            b'[{"email": "a@b.ru", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}]",
            b"[1, 2, 3]",
            b'{"email": "a@b.ru"}\n[1]\n',
            b'"a","b"\n"1',
        ]
    ),
)
NAMES = st.sampled_from(["list.csv", "list.json", "list.jsonl", "list.txt", "list.tsv"])


def errors_of(html: str) -> list[str]:
    return re.findall(r'<p class="field-error"[^>]*>([^<]+)</p>', html)


@FUZZ
@given(file_bytes, NAMES)
def test_any_file_is_taken_or_refused_by_name(marketer, media, content, name):
    before = set(media.rglob("*")) if media.exists() else set()
    fields = {
        "file": SimpleUploadedFile(name, content),
        "connection": "sandbox",
        "operation": "profiles/import_batch",
        "db_id": "1",
    }
    response = marketer.post(reverse("bulk_upload"), fields)

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        html = response.content.decode()
        assert 'id="id_file-error"' in html, html[:3000]  # named on the file field
        after = set(media.rglob("*")) if media.exists() else set()
        assert not {p for p in after - before if p.is_file()}, "a refused upload left its file"
        return
    batch = Batch.objects.latest("pk")
    page = marketer.get(reverse("bulk_mapping", args=[batch.pk]))
    assert page.status_code == 200


@FUZZ
@given(st.sampled_from(["connection", "operation", "db_id", "workflow_id"]), odd_text)
def test_any_value_in_the_upload_form_is_named(marketer, name, value):
    fields = {"connection": "sandbox", "operation": "profiles/import_batch", "db_id": "1"}
    fields[name] = value
    response = post_form(marketer, reverse("bulk_upload"), fields)

    assert response.status_code == 200  # no file: never taken
    html = response.content.decode()
    assert 'id="id_file-error"' in html  # the missing file is named on its field


@pytest.fixture
def draft(marketer, media):
    content = (
        "email,Телефон,Дата рождения,Пол,f_int,f_date\n"
        "a@b.ru,8 903 157-19-45,23.12.1969,м,1,03/04/1990\n"
    ).encode()
    response = marketer.post(
        reverse("bulk_upload"),
        {
            "file": SimpleUploadedFile("list.csv", content),
            "connection": "sandbox",
            "operation": "profiles/import_batch",
            "db_id": "1",
        },
    )
    assert response.status_code == 302
    batch = Batch.objects.latest("pk")
    form = marketer.get(reverse("bulk_mapping", args=[batch.pk])).context["form"]
    return batch, {name: form[name].value() or "" for name in form.fields}


MAPPING_FIELDS = [
    "phone_region", "matching", "field_name", "empty_cells", "save_as", "skip_triggers",
    "field_0", "sub_0", "date_0", "field_1", "sub_1", "date_2", "field_2", "field_5", "date_5",
]  # fmt: skip


@FUZZ
@given(st.sampled_from(MAPPING_FIELDS), odd_text)
def test_any_value_in_the_mapping_form_is_checked_or_named(marketer, draft, name, value):
    batch, fields = draft
    fields = {**fields, "matching": "email", "empty_cells": "leave", name: value}
    fields = {k: v for k, v in fields.items() if v is not False}
    response = post_form(marketer, reverse("bulk_mapping", args=[batch.pk]), fields)

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        html = response.content.decode()
        assert errors_of(html) or 'class="form-errors"' in html, html[:3000]
        Batch.objects.filter(pk=batch.pk).update(state=Batch.State.DRAFT)
    else:
        # Checked (or queued): back to the mapping for the next example.
        Batch.objects.filter(pk=batch.pk).update(state=Batch.State.DRAFT)


@FUZZ
@given(odd_text)
def test_any_saved_mapping_parameter_gives_a_page(marketer, draft, value):
    batch, _ = draft
    response = get_query(marketer, reverse("bulk_mapping", args=[batch.pk]), {"saved": value})
    assert response.status_code == 200
