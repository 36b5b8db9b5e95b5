"""`manage.py bulk_import`: the Bulk page's check, send and report without a browser."""

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from altcraft_sandbox.models import Profile
from profiles_ui.models import Batch, SavedMapping, Submission
from tests.helpers import ROOT, csv_bytes, database_url, people

pytestmark = [
    pytest.mark.usefixtures("media", "sandbox"),
    pytest.mark.django_db(transaction=True),
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def result(self) -> dict:
        return json.loads(self.lines[-1])


def bulk_import(*args: str, stdout: io.StringIO | None = None) -> Run:
    """The command run as cron runs it (stdout not a terminal), its exit status caught."""
    out, err = stdout or io.StringIO(), io.StringIO()
    try:
        call_command("bulk_import", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(str(exc))
        return Run(exc.returncode, out.getvalue(), err.getvalue())
    except SystemExit as exc:
        return Run(exc.code, out.getvalue(), err.getvalue())
    return Run(0, out.getvalue(), err.getvalue())


def read_csv(path: str) -> list[dict]:
    # With or without a BOM: a file written for Excel has one.
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))


@pytest.fixture
def list_file(tmp_path):
    def write(content: bytes, name: str = "export.csv") -> str:
        path = tmp_path / name
        path.write_bytes(content)
        return str(path)

    return write


@pytest.fixture
def out_dir(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def target(out_dir: Path, *more: str) -> list[str]:
    return ["--connection", "sandbox", "--operation", "import", "--db-id", "1", "--out",
            str(out_dir), "--json", *more]  # fmt: skip


def test_check_only_ends_with_one_json_line_and_sends_nothing(list_file, out_dir):
    run = bulk_import(list_file(csv_bytes(people(3))), *target(out_dir, "--check-only"))
    assert run.code == 0, run.err
    batch = Batch.objects.get()
    assert run.result == {
        "batch": batch.pk,
        "rows": 3,
        "valid": 3,
        "invalid": 0,
        "sent": 0,
        "failed": 0,
        "report": str(out_dir / f"batch-{batch.pk}-report.csv"),
        "invalid_rows": str(out_dir / f"batch-{batch.pk}-invalid-rows.csv"),
    }
    # Checked as the page checks it: it could be sent from the page now.
    assert batch.state == Batch.State.CHECKED
    assert batch.chunks.count() == 1
    assert not Submission.objects.exists()
    assert not Profile.objects.exists()


def test_a_full_send_sends_every_row_under_the_system_marketer(list_file, out_dir):
    run = bulk_import(list_file(csv_bytes(people(25))), *target(out_dir))
    assert run.code == 0, run.err
    assert (run.result["rows"], run.result["sent"], run.result["failed"]) == (25, 25, 0)
    batch = Batch.objects.get()
    assert batch.state == Batch.State.FINISHED
    assert batch.username == "system"
    assert batch.user.groups.filter(name="marketer").exists()
    assert not batch.user.has_usable_password()
    # The chunk's record in history, as the worker writes it, under the same user.
    record = Submission.objects.get()
    assert (record.username, record.role, record.state) == (
        "system",
        "marketer",
        Submission.State.SUCCEEDED,
    )
    assert record.batch_chunk.batch == batch
    assert Profile.objects.filter(database_id=1).count() == 25
    assert Profile.objects.get(email="user3@example.com").fields["_fname"] == "Name3"
    lines = read_csv(run.result["report"])
    assert [line["result"] for line in lines] == ["ok"] * 25
    # The automatic mapping, shown header by header.
    assert "  first_name → _fname" in run.lines


def test_a_json_lines_file_goes_through_as_on_the_page(list_file, out_dir):
    lines = [{"email": f"j{i}@example.com", "first_name": f"J{i}"} for i in range(3)]
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    run = bulk_import(list_file(content, "export.jsonl"), *target(out_dir))
    assert run.code == 0, run.err
    assert (run.result["rows"], run.result["sent"]) == (3, 3)
    assert Profile.objects.get(email="j2@example.com").fields["_fname"] == "J2"


def test_a_second_run_reuses_the_system_user(list_file, out_dir):
    bulk_import(list_file(csv_bytes(people(2))), *target(out_dir))
    bulk_import(list_file(csv_bytes(people(2, start=2))), *target(out_dir))
    assert set(Batch.objects.values_list("user__username", flat=True)) == {"system"}
    assert Group.objects.get(name="marketer").user_set.filter(username="system").count() == 1


def test_the_given_user_owns_the_batch_and_its_records(list_file, out_dir, make_user):
    make_user("support", username="night-import")
    run = bulk_import(list_file(csv_bytes(people(2))), *target(out_dir, "--user", "night-import"))
    assert run.code == 0, run.err
    batch = Batch.objects.get()
    assert batch.user.username == "night-import"
    assert set(Submission.objects.values_list("username", "role")) == {("night-import", "support")}


def test_invalid_rows_exit_1_and_are_written_with_their_column(list_file, out_dir):
    rows = [*people(2), ["not-an-email", "X", "seven", ""]]
    run = bulk_import(list_file(csv_bytes(rows)), *target(out_dir))
    assert run.code == 1
    assert "1 invalid rows" in run.err
    assert (run.result["valid"], run.result["invalid"], run.result["sent"]) == (2, 1, 2)
    invalid = Path(run.result["invalid_rows"])
    lines = list(csv.reader(io.StringIO(invalid.read_text(encoding="utf-8-sig"))))
    assert len(lines) == 2
    assert lines[0][:3] == ["row", "identifier", "problems"]
    assert lines[1][0] == "3"
    assert "email: not a valid email address" in lines[1][2]
    assert "loyalty_level: must be an integer" in lines[1][2]
    assert "not-an-email" in lines[1]
    # The customers' data: for the account that ran the import only.
    assert stat.S_IMODE(invalid.stat().st_mode) == 0o600
    report = read_csv(run.result["report"])
    assert [line["result"] for line in report] == ["ok", "ok", "invalid"]


def test_check_only_with_invalid_rows_exits_1(list_file, out_dir):
    rows = [*people(2), ["not-an-email", "X", "1", ""]]
    run = bulk_import(list_file(csv_bytes(rows)), *target(out_dir, "--check-only"))
    assert run.code == 1
    assert (run.result["invalid"], run.result["sent"]) == (1, 0)
    assert not Submission.objects.exists()


def test_rows_altcraft_refuses_exit_1_with_a_saved_mapping(list_file, out_dir):
    """Rows 2 and 4 subscribe to resource 9, which database 1 does not have (error 413)."""
    SavedMapping.objects.create(
        name="partners",
        columns=[
            {"header": "email", "field": "email", "subscribe": ""},
            {"header": "partners", "field": "", "subscribe": "email:9"},
        ],
        created_by="support",
    )
    rows = [[f"u{i}@example.com", f"u{i}@example.com" if i % 2 else ""] for i in range(4)]
    content = csv_bytes(rows, header=["email", "partners"])
    run = bulk_import(list_file(content), *target(out_dir, "--mapping", "partners"))
    assert run.code == 1
    assert (run.result["valid"], run.result["sent"], run.result["failed"]) == (4, 2, 2)
    assert "2 of 4 valid rows not accepted" in run.err
    report = read_csv(run.result["report"])
    assert [(line["row"], line["result"]) for line in report] == [
        ("1", "ok"),
        ("2", "failed"),
        ("3", "ok"),
        ("4", "failed"),
    ]


def test_a_file_without_valid_rows_sends_nothing_and_exits_1(list_file, out_dir):
    run = bulk_import(list_file(csv_bytes([["bad", "X", "1", ""]])), *target(out_dir))
    assert run.code == 1
    assert "Nothing sent: there is no valid row to send." in run.lines
    assert Batch.objects.get().state == Batch.State.CHECKED
    assert not Submission.objects.exists()


def test_a_scenario_import_takes_its_database_from_the_scenario(list_file, out_dir):
    args = ["--connection", "sandbox", "--operation", "import_and_start", "--workflow-id", "1"]
    run = bulk_import(list_file(csv_bytes(people(2))), *args, "--out", str(out_dir), "--json")
    assert run.code == 0, run.err
    batch = Batch.objects.get()
    assert (batch.operation, batch.workflow_id, batch.db_id) == (
        "workflows/import_and_start_batch",
        1,
        1,
    )
    assert batch.workflow_name == "Welcome series"
    assert Submission.objects.get().operation == "workflows/import_and_start_batch"


def test_the_matching_given_is_the_batch_matching(list_file, out_dir):
    run = bulk_import(list_file(csv_bytes(people(2))), *target(out_dir, "--matching", "phone"))
    assert run.code == 0, run.err
    assert Batch.objects.get().matching == "phone"
    assert '"matching":"phone"' in Submission.objects.get().request_body


def test_a_check_that_stops_exits_1_and_still_ends_with_the_json_line(list_file, out_dir, settings):
    settings.BULK_MAX_ROWS = 2
    run = bulk_import(list_file(csv_bytes(people(3))), *target(out_dir))
    assert run.code == 1
    assert "the check stopped: the file has more than 2 rows." in run.err
    assert run.result["report"] is None
    assert run.result["batch"] == Batch.objects.get(state=Batch.State.DRAFT).pk
    assert not Submission.objects.exists()


def test_phone_region_is_accepted(list_file, out_dir):
    run = bulk_import(list_file(csv_bytes(people(2))), *target(out_dir, "--phone-region", "kz"))
    assert run.code == 0, run.err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--connection": "prod"}, "--connection: no connection named 'prod' (there are: sandbox)"),
        ({"--operation": "upsert"}, "--operation: 'upsert' is not a bulk operation"),
        ({"--db-id": "999"}, "--db-id: no database 999 on Sandbox (there are: 1 "),
        ({"--mapping": "nightly"}, "--mapping: no saved mapping named 'nightly'"),
        ({"--user": "nobody"}, "--user: no user named 'nobody'"),
        ({"--user": "auditor"}, "--user: auditor may not send profiles: This is for marketers"),
        ({"--phone-region": "XX"}, "--phone-region: 'XX' is not a region phonenumbers knows"),
        ({"--matching": "phone"}, "--matching: Map a column to phones: phone matching needs it."),
        ({"FILE": "missing.csv"}, "FILE: "),
        ({"FILE": "list.xlsx"}, "FILE: Choose a .csv, .jsonl or .json file"),
        ({"--out": "no-such-folder"}, "--out: "),
        (
            {"--workflow-id": "99"},
            "--workflow-id: no scenario 99 on Sandbox (there are: 1 Welcome series, ",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    change, message, list_file, out_dir, tmp_path, make_user
):
    make_user("auditor")
    content = csv_bytes(people(2), header=["email", "first_name", "loyalty_level", "note"])
    options = {"--connection": "sandbox", "--operation": "import", "--db-id": "1"}
    if "--workflow-id" in change:
        options["--operation"] = "import_and_start"
    options |= {"--out": str(out_dir), **change}
    name = options.pop("FILE", "list.csv")
    path = list_file(content, name) if name != "missing.csv" else str(tmp_path / name)
    options["--out"] = str(tmp_path / options["--out"])
    args = [path, *(part for option in options.items() for part in option)]
    run = bulk_import(*args)
    assert run.code == 2
    assert message in run.err
    assert not Batch.objects.exists()
    assert not Submission.objects.exists()


def test_an_unreadable_file_exits_2(list_file, out_dir):
    run = bulk_import(list_file(b"   \n"), *target(out_dir))
    assert run.code == 2
    assert "FILE: this file cannot be read: the file is empty." in run.err


def test_on_a_terminal_progress_is_one_bar_redrawn_in_place(list_file, out_dir):
    terminal = Terminal()
    run = bulk_import(list_file(csv_bytes(people(3))), *target(out_dir), stdout=terminal)
    assert run.code == 0, run.err
    assert "\rChecking [##############################] 100% 3/3 rows" in run.out
    assert "\rSending [##############################] 100% 3/3 rows" in run.out
    assert run.result["sent"] == 3


def test_off_a_terminal_progress_is_plain_lines(list_file, out_dir):
    run = bulk_import(list_file(csv_bytes(people(3))), *target(out_dir))
    assert "\r" not in run.out
    assert "Checking: 3 of 3 rows" in run.lines
    assert "Sending: 3 of 3 rows" in run.lines
    assert "Sent 3 of 3 rows: 3 accepted, 0 failed (finished)." in run.lines


def manage(settings, *args: str, **options) -> subprocess.CompletedProcess:
    """manage.py in a process of its own, on the test database and the live sandbox."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SANDBOX_BASE_URL": settings.SANDBOX_BASE_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        text=True,
        timeout=120,
        **({"capture_output": True} | options),
    )


def test_as_cron_runs_it_the_exit_status_and_last_line_are_the_process_own(
    settings, list_file, out_dir
):
    rows = [*people(3), ["bad", "X", "1", ""]]
    both = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "capture_output": False}
    done = manage(settings, "bulk_import", list_file(csv_bytes(rows)), *target(out_dir), **both)
    assert done.returncode == 1, done.stdout
    # `>> import.log 2>&1`: the problems are said, and the JSON line is still the last.
    lines = done.stdout.splitlines()
    assert lines[-2].startswith("Batch ") and "1 invalid rows (see " in lines[-2]
    result = json.loads(lines[-1])
    assert (result["rows"], result["sent"], result["invalid"]) == (4, 3, 1)
    assert Profile.objects.count() == 3

    missing = manage(settings, "bulk_import", list_file(csv_bytes(people(1))), "--db-id", "1")
    assert missing.returncode == 2
    assert "the following arguments are required: --connection, --operation" in missing.stderr


def test_phone_region_reads_national_numbers_of_that_country(list_file, out_dir):
    rows = [["ann@example.com", "Ann", "1", "020 7946 0958"]]
    run = bulk_import(list_file(csv_bytes(rows)), *target(out_dir, "--phone-region", "GB"))
    assert run.code == 0, run.err
    assert Batch.objects.get().phone_region == "GB"
    assert Profile.objects.get(email="ann@example.com").fields["phones"] == ["+442079460958"]
