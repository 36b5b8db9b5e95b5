"""Uploads at their edges (NULs, UTF-16, deep JSON, failed uploads), saved mappings' owners,
and the readers of cells and headers."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from profiles_ui.bulk.files import chunk_body_path
from profiles_ui.bulk.mapping import auto_field
from profiles_ui.bulk.values import CellError, date, guess_date_format, sex
from profiles_ui.models import Batch, SavedMapping
from tests.helpers import IMMEDIATE_TASKS, map_columns, upload, wait_for_check


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail", "email"),
        ("Электронная почта", "email"),
        ("ПОЧТА", "email"),
        ("Phone", "phones"),
        ("Мобильный телефон", "phones"),
        ("Телефон", "phones"),
        ("First name", "_fname"),
        ("Имя", "_fname"),
        ("last_name", "_lname"),
        ("Фамилия", "_lname"),
        ("Middle Name", "_mname"),
        ("Отчество", "_mname"),
        ("Birthday", "_bdate"),
        ("Дата рождения", "_bdate"),
        ("City", "_city"),
        ("Город", "_city"),
        ("Gender", "_sex"),
        ("Sex", "_sex"),
        ("Пол", "_sex"),
        ("  loyalty-level ", "custom:loyalty_level"),
        ("Loyalty level", "custom:loyalty_level"),  # the field's label
        ("Unknown", ""),
    ],
)
def test_headers_are_matched_in_english_and_russian(header, field):
    custom = {"loyalty_level": "int"}
    assert auto_field(header, custom, {"loyalty_level": "Loyalty level"}) == field


@pytest.mark.parametrize(
    ("text", "fmt", "sent"),
    [
        ("17.05.1990", "dmy_dot", "1990-05-17"),
        ("7.5.1990", "dmy_dot", "1990-05-07"),
        ("17/05/1990", "dmy_slash", "1990-05-17"),
        ("05/17/1990", "mdy_slash", "1990-05-17"),
        ("1990-05-17", "iso", "1990-05-17"),
        ("2019-03-14T22:00:00", "iso", "2019-03-14T22:00:00Z"),
        ("2019-03-14T22:00:00.123+0300", "iso", "2019-03-14T22:00:00+03:00"),
        ("2019-03-14 22:00", "ymd_time", "2019-03-14T22:00:00Z"),
        ("2019-03-14 22:00:05", "ymd_time", "2019-03-14T22:00:05Z"),
        ("642902400", "unix", "1990-05-17T00:00:00Z"),
    ],
)
def test_dates_are_sent_as_iso(text, fmt, sent):
    assert date(text, fmt) == sent


@pytest.mark.parametrize(
    ("text", "fmt"), [("31.02.1990", "dmy_dot"), ("1990-05-17", "dmy_dot"), ("x", "iso")]
)
def test_a_date_that_is_not_one_says_what_was_expected(text, fmt):
    with pytest.raises(CellError) as error:
        date(text, fmt)
    assert "is not a date; expected like" in str(error.value)
    assert "RFC" not in str(error.value)


def test_date_formats_are_guessed_and_ambiguous_ones_are_not():
    assert guess_date_format(["03/04/1990", "12/11/1991"]).ambiguous
    assert guess_date_format(["03/04/1990", "12/11/1991"]).format == ""
    assert guess_date_format(["03/04/1990", "13/11/1991"]).format == "dmy_slash"
    assert guess_date_format(["03/04/1990", "11/13/1991"]).format == "mdy_slash"
    assert guess_date_format(["23.12.1969", "x"]).format == "dmy_dot"
    assert guess_date_format(["hello", "world"]).format == ""


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("M", "male"), ("m", "male"), ("male", "male"), ("Male", "male"), ("м", "male"),
        ("М", "male"), ("муж", "male"), ("Муж.", "male"), ("1", "male"), (1, "male"),
        ("F", "female"), ("female", "female"), ("ж", "female"), ("Жен", "female"),
        ("2", "female"), (2, "female"), ("0", 0), (0, 0),
    ],
)  # fmt: skip
def test_genders_are_read_in_their_common_spellings(written, sent):
    assert sex(written) == sent


@pytest.fixture
def marketer(client_for, sandbox, settings):
    settings.TASKS = IMMEDIATE_TASKS
    return client_for("marketer")


def post_upload(client, content: bytes, name: str = "list.csv"):
    return client.post(
        reverse("bulk_upload"),
        {
            "file": SimpleUploadedFile(name, content),
            "connection": "sandbox",
            "operation": "profiles/import_batch",
            "db_id": 1,
        },
    )


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_a_nul_in_a_header_is_refused_and_leaves_no_file(marketer, media):
    response = post_upload(marketer, b"email,na\x00me\na@example.com,x\n")
    assert "the header row: the name of column 2 holds a NUL byte" in response.content.decode()
    assert not Batch.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_a_nul_in_a_cell_is_refused_naming_row_and_column(marketer):
    content = b"email,name\na@example.com,Ann\nb@example.com,B\x00b\n"
    batch = upload(marketer, content)
    assert map_columns(marketer, batch, {"name": "_fname"}).status_code == 302
    batch = wait_for_check(batch)
    assert (batch.valid_rows, batch.invalid_rows) == (1, 1)
    (row,) = batch.invalid_sample
    assert row["row"] == 2
    assert [(h, p) for h, _, p in row["cells"] if p] == [
        ("name", ["contains character U+0000, which XML cannot carry"])
    ]


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_utf16_with_bom_is_read(marketer):
    content = "email;Телефон\na@example.com;8 903 157-19-45\n".encode("utf-16")
    batch = upload(marketer, content)
    assert (batch.encoding, batch.delimiter, batch.headers) == ("utf-16", ";", ["email", "Телефон"])
    assert map_columns(marketer, batch).status_code == 302
    batch = wait_for_check(batch)
    body = json.loads(chunk_body_path(batch, 0).read_bytes())
    assert body["data"] == [{"email": "a@example.com", "phones": ["+79031571945"]}]


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_json_lines_nested_20000_deep_is_refused_with_a_message(marketer, media):
    content = b'{"a":' * 20_000 + b"1" + b"}" * 20_000 + b"\n"
    response = post_upload(marketer, content, "deep.jsonl")
    assert response.status_code == 200
    assert "nested" in response.content.decode()
    assert not [p for p in media.rglob("*") if p.is_file()]


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_a_deep_line_among_good_ones_is_an_invalid_row(marketer):
    deep = '{"email": "b@example.com", "x": ' + "[" * 50 + "]" * 50 + "}"
    content = ('{"email": "a@example.com"}\n' + deep + "\n").encode()
    batch = upload(marketer, content, name="list.jsonl")
    assert map_columns(marketer, batch).status_code == 302
    batch = wait_for_check(batch)
    assert (batch.valid_rows, batch.invalid_rows) == (1, 1)
    assert batch.invalid_sample[0]["row_problems"] == [
        "the line is not a JSON object: nested more than 33 levels deep"
    ]


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_a_malformed_json_array_stops_the_check_with_a_message(marketer):
    content = b'[{"email": "a@example.com"},\n {"email": "b@example.com"},\n {"email": '
    batch = upload(marketer, content, name="list.json")
    assert map_columns(marketer, batch).status_code == 302
    batch = wait_for_check(batch)
    assert batch.state == Batch.State.DRAFT
    assert batch.error.startswith("the JSON array is malformed after element 2")
    page = marketer.get(reverse("bulk_mapping", args=[batch.pk])).content.decode()
    assert "The check stopped: the JSON array is malformed after element 2" in page


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_an_unknown_saved_mapping_gives_a_message(marketer):
    batch = upload(marketer, b"email\na@example.com\n")
    for value in ("x", "999999", ""):
        response = marketer.get(reverse("bulk_mapping", args=[batch.pk]), {"saved": value})
        assert response.status_code == 200
        assert "there is no such mapping" in response.content.decode()


@pytest.mark.usefixtures("media")
@pytest.mark.django_db(transaction=True)
def test_saved_mappings_are_their_owners_unless_the_role_sees_all(client_for, make_user, sandbox):
    owner, support = client_for("marketer"), client_for("support")
    other = Client()  # client_for names users after their role: this one has its own name
    other.force_login(make_user("marketer", "marketer2"))
    batch = upload(owner, b"email\na@example.com\n")
    map_columns(owner, batch, save_as="Mine")
    saved = SavedMapping.objects.get(name="Mine")
    own_batch = upload(other, b"email\na@example.com\n")
    page = other.get(reverse("bulk_mapping", args=[own_batch.pk]), {"saved": saved.pk})
    assert "there is no such mapping" in page.content.decode()
    assert "Mine" not in [m.name for m in page.context["saved_mappings"]]
    support_batch = upload(support, b"email\na@example.com\n")
    page = support.get(reverse("bulk_mapping", args=[support_batch.pk]), {"saved": saved.pk})
    assert "there is no such mapping" not in page.content.decode()
    assert "Mine" in [m.name for m in page.context["saved_mappings"]]
