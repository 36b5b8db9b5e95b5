"""Files as teams have them: a CRM export in UTF-8 with BOM, the same in Windows-1251 with
`;`, a database's JSON array, JSON Lines; national phones, dd.mm.yyyy dates, Russian headers
and a few truly invalid values."""

import csv
import io
import json

import pytest
from django.urls import reverse

from profiles_ui.bulk.files import chunk_body_path
from profiles_ui.models import Batch
from tests.helpers import IMMEDIATE_TASKS, map_columns, upload, wait_for_check

pytestmark = [
    pytest.mark.usefixtures("media"),
    pytest.mark.django_db(transaction=True),
]

# (email, phone as written, first name, last name, birthday, gender); the last three rows
# are truly invalid, each in one column.
CRM_ROWS = [
    ["ivan@example.ru", "8 (903) 157-19-45", "Иван", "Петров", "23.12.1969", "м"],
    ["olga@example.ru", "+7 989 9142600", "Ольга", "Смирнова", "01.02.1985", "Ж"],
    ["petr@example.ru", "79207090293", "Пётр", "Иванов", "17.05.1990", "муж"],
    ["anna@example.ru", "8-945-577-0619", "Анна", "Кузнецова", "31.12.2000", "F"],
    ["bad-phone@example.ru", "12345", "Глеб", "Орлов", "01.01.1990", "м"],
    ["bad-date@example.ru", "89031571946", "Вера", "Зайцева", "32.13.1990", "ж"],
    ["bad-sex@example.ru", "9031571947", "Лев", "Волков", "02.03.1991", "не скажу"],
]

SENT = [
    {
        "email": "ivan@example.ru",
        "phones": ["+79031571945"],
        "_fname": "Иван",
        "_lname": "Петров",
        "_bdate": "1969-12-23",
        "_sex": "male",
    },
    {
        "email": "olga@example.ru",
        "phones": ["+79899142600"],
        "_fname": "Ольга",
        "_lname": "Смирнова",
        "_bdate": "1985-02-01",
        "_sex": "female",
    },
    {
        "email": "petr@example.ru",
        "phones": ["+79207090293"],
        "_fname": "Пётр",
        "_lname": "Иванов",
        "_bdate": "1990-05-17",
        "_sex": "male",
    },
    {
        "email": "anna@example.ru",
        "phones": ["+79455770619"],
        "_fname": "Анна",
        "_lname": "Кузнецова",
        "_bdate": "2000-12-31",
        "_sex": "female",
    },
]

PROBLEMS = {
    5: ("Телефон", "'12345' is not a phone number (read as a number of RU)"),
    6: ("Дата рождения", "'32.13.1990' is not a date; expected like 17.05.1990"),
    7: ("Пол", "'не скажу' is not a gender; expected male or female (M/F, м/ж and 1/2 read)"),
}


@pytest.fixture
def marketer(client_for, sandbox, settings):
    settings.TASKS = IMMEDIATE_TASKS
    return client_for("marketer")


def crm_csv(header: list[str], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(CRM_ROWS)
    return out.getvalue()


def check_file(client, content: bytes, name: str, fields=None, **options) -> Batch:
    batch = upload(client, content, name=name)
    response = map_columns(client, batch, fields, **options)
    assert response.status_code == 302, response.content.decode()[:3000]
    return wait_for_check(batch)


def sent_profiles(batch: Batch) -> list[dict]:
    profiles = []
    for chunk in batch.chunks.order_by("index"):
        profiles += json.loads(chunk_body_path(batch, chunk.index).read_bytes())["data"]
    return profiles


def problems_by_row(batch: Batch) -> dict[int, tuple[str, str]]:
    """{row: (column, message)}, asserting each invalid row has exactly one problem."""
    found = {}
    for row in batch.invalid_sample:
        problems = [(h, p) for h, _, messages in row["cells"] for p in messages]
        problems += [("", p) for p in row["row_problems"]]
        assert len(problems) == 1, (row["row"], problems)
        found[row["row"]] = problems[0]
    return found


def without_subscriptions(profiles: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "subscriptions"} for p in profiles]


RUSSIAN = ["Электронная почта", "Телефон", "Имя", "Фамилия", "Дата рождения", "Пол"]


def test_utf8_with_bom_export_with_russian_headers(marketer):
    content = crm_csv(RUSSIAN).encode("utf-8-sig")
    batch = upload(marketer, content, name="crm.csv")
    form = marketer.get(reverse("bulk_mapping", args=[batch.pk])).context["form"]
    assert [form[f"field_{i}"].value() for i in range(6)] == [
        "email",
        "phones",
        "_fname",
        "_lname",
        "_bdate",
        "_sex",
    ]
    assert form["date_4"].value() == "dmy_dot"
    assert form["phone_region"].value() == "RU"
    # The phone column also feeds an SMS subscription: a bad phone is still one problem.
    response = map_columns(marketer, batch, {"Телефон": "phones+sms:3"})
    assert response.status_code == 302
    batch = wait_for_check(batch)

    assert (batch.total_rows, batch.valid_rows, batch.invalid_rows) == (7, 4, 3)
    profiles = sent_profiles(batch)
    assert without_subscriptions(profiles) == SENT
    assert [p["subscriptions"][0]["phone"] for p in profiles] == [p["phones"][0] for p in SENT]
    assert problems_by_row(batch) == PROBLEMS


def test_windows_1251_export_with_semicolons(marketer):
    header = ["E-mail", "Мобильный", "Имя", "Фамилия", "День рождения", "Пол"]
    content = crm_csv(header, delimiter=";").encode("cp1251")
    batch = check_file(marketer, content, "crm.csv")
    assert (batch.encoding, batch.delimiter) == ("cp1251", ";")
    assert (batch.valid_rows, batch.invalid_rows) == (4, 3)
    assert sent_profiles(batch) == SENT
    assert {row: column for row, (column, _) in problems_by_row(batch).items()} == {
        5: "Мобильный",
        6: "День рождения",
        7: "Пол",
    }

    # The invalid rows open in Excel: BOM, the upload's delimiter, identifiers filled.
    body = b"".join(marketer.get(reverse("bulk_invalid_rows", args=[batch.pk])).streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:4] == ["row", "identifier", "problems", "E-mail"]
    assert [line[:2] for line in lines[1:]] == [
        ["5", "bad-phone@example.ru"],
        ["6", "bad-date@example.ru"],
        ["7", "bad-sex@example.ru"],
    ]
    assert "Вера" in body.decode("utf-8-sig")

    report = b"".join(marketer.get(reverse("bulk_report", args=[batch.pk])).streaming_content)
    assert report.startswith(b"\xef\xbb\xbf")
    report_lines = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    invalid = [line for line in report_lines if line[2] == "invalid"]
    assert [line[1] for line in invalid] == [
        "bad-phone@example.ru",
        "bad-date@example.ru",
        "bad-sex@example.ru",
    ]


def json_agg_profiles() -> list:
    """What PostgreSQL's json_agg writes for a customers table: typed values, arrays, objects,
    and timestamps without a zone."""
    return [
        {
            "email": "ivan@example.ru",
            "phones": ["8 (903) 157-19-45", "+7 989 9142600"],
            "_fname": "Иван",
            "_bdate": "1969-12-23T21:00:00",
            "_sex": 1,
            "loyalty_level": 3,
            "interests": ["books", "travel"],
            "address": {"city": "Рязань", "flat": 12},
            "orders": [{"id": 1, "sum": 10.5}],
            "last_order": "2019-03-14T22:00:00",
        },
        {
            "email": "olga@example.ru",
            "phones": [79207090293],
            "_fname": "Ольга",
            "_bdate": "1985-02-01T00:00:00",
            "_sex": 2,
            "loyalty_level": 1,
            "interests": [],
            "address": None,
            "orders": [],
            "last_order": None,
        },
        {"email": "bad-phone@example.ru", "phones": ["12345"], "_fname": "Глеб", "_sex": 1},
        42,
        {"email": "bad-date@example.ru", "_fname": "Вера", "last_order": "14/03/2019"},
    ]


def test_json_array_as_json_agg_writes_it(marketer):
    text = "[" + ",\n ".join(json.dumps(p, ensure_ascii=False) for p in json_agg_profiles())
    batch = check_file(marketer, (text + "]\n").encode(), "customers.json")
    assert batch.kind == "json"
    assert batch.headers[:4] == ["email", "phones", "_fname", "_bdate"]
    assert (batch.total_rows, batch.valid_rows, batch.invalid_rows) == (5, 2, 3)
    assert sent_profiles(batch) == [
        {
            "email": "ivan@example.ru",
            "phones": ["+79031571945", "+79899142600"],
            "_fname": "Иван",
            "_bdate": "1969-12-23T21:00:00Z",
            "_sex": "male",
            "loyalty_level": 3,
            "interests": ["books", "travel"],
            "address": {"city": "Рязань", "flat": 12},
            "orders": [{"id": 1, "sum": 10.5}],
            "last_order": "2019-03-14T22:00:00Z",
        },
        {
            "email": "olga@example.ru",
            "phones": ["+79207090293"],
            "_fname": "Ольга",
            "_bdate": "1985-02-01T00:00:00Z",
            "_sex": "female",
            "loyalty_level": 1,
            "interests": [],
            "orders": [],
        },
    ]
    assert problems_by_row(batch) == {
        3: ("phones", "'12345' is not a phone number (read as a number of RU)"),
        4: ("", "the element is not a JSON object"),
        5: ("last_order", "'14/03/2019' is not a date; expected like 1990-05-17"),
    }


def test_json_lines_with_russian_keys(marketer):
    keys = ["Почта", "Телефон", "Имя", "Дата рождения"]
    lines = [
        json.dumps(dict(zip(keys, (r[0], r[1], r[2], r[4]), strict=True)), ensure_ascii=False)
        for r in CRM_ROWS[:6]
    ]
    batch = check_file(marketer, "\n".join(lines).encode(), "crm.jsonl")
    assert batch.kind == "jsonl"
    assert (batch.valid_rows, batch.invalid_rows) == (4, 2)
    assert [(p["phones"], p["_bdate"]) for p in sent_profiles(batch)] == [
        (s["phones"], s["_bdate"]) for s in SENT
    ]
    assert problems_by_row(batch) == {
        5: ("Телефон", PROBLEMS[5][1]),
        6: ("Дата рождения", PROBLEMS[6][1]),
    }


def test_preview_shows_what_is_sent_for_converted_cells(marketer):
    batch = check_file(marketer, crm_csv(RUSSIAN).encode("utf-8-sig"), "crm.csv")
    assert batch.conversion_sample[0] == {
        "row": 1,
        "cells": [
            ["Телефон", "8 (903) 157-19-45", "+79031571945"],
            ["Дата рождения", "23.12.1969", "1969-12-23"],
            ["Пол", "м", "male"],
        ],
    }
    page = marketer.get(reverse("bulk_preview", args=[batch.pk])).content.decode()
    assert "8 (903) 157-19-45" in page and "+79031571945" in page
    assert "RFC 3339" not in page


def test_phone_region_is_changeable_per_batch(marketer):
    content = (
        "email,phone\na@example.com,030 1234567\nb@example.com,+7 903 157-19-45\nc@x.de,0000\n"
    )
    batch = check_file(marketer, content.encode(), "de.csv", phone_region="DE")
    assert batch.phone_region == "DE"
    assert [p["phones"] for p in sent_profiles(batch)] == [["+49301234567"], ["+79031571945"]]
    assert problems_by_row(batch) == {
        3: ("phone", "'0000' is not a phone number (read as a number of DE)")
    }


def test_ambiguous_dates_ask_before_the_check(marketer):
    content = "email,birthday\na@example.com,03/04/1990\nb@example.com,05/06/1991\n"
    batch = upload(marketer, content.encode(), name="us.csv")
    response = map_columns(marketer, batch)
    assert response.status_code == 200
    page = response.content.decode()
    assert "birthday: Choose how this column writes dates: its dates read either way round" in page
    assert Batch.objects.get(pk=batch.pk).state == Batch.State.DRAFT
    response = map_columns(marketer, batch, date_1="mdy_slash")
    assert response.status_code == 302
    batch = wait_for_check(batch)
    assert [p["_bdate"] for p in sent_profiles(batch)] == ["1990-03-04", "1991-05-06"]


def test_a_batch_with_no_valid_row_is_not_ready_to_send(marketer):
    content = "email,phone\nnot-an-email,+79031571945\nalso-not,+79031571946\n"
    batch = check_file(marketer, content.encode(), "bad.csv")
    assert (batch.state, batch.valid_rows) == (Batch.State.CHECKED, 0)
    assert batch.state_text == "Checked: no valid row, nothing to send"
    page = marketer.get(reverse("bulk_preview", args=[batch.pk])).content.decode()
    assert "Not ready to send:" in page
    assert "None of the 2 rows is valid" in page and "email (2 of them)" in page
    response = marketer.post(reverse("bulk_preview", args=[batch.pk]))
    assert response.status_code == 400
    assert Batch.objects.get(pk=batch.pk).state == Batch.State.CHECKED
    listing = marketer.get(reverse("bulk_upload")).content.decode()
    assert "Checked: no valid row, nothing to send" in listing
