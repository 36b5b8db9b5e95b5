"""Import a list without a browser: the Bulk page's upload, mapping, check, send and report,
in this process, for cron and scripts."""

import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connection as db_connection
from django.db import transaction

from altcraft.operations import OPERATIONS
from profiles_ui import catalog, roles
from profiles_ui.bulk import check, files, mapping, report, tasks
from profiles_ui.bulk.forms import BULK_OPERATIONS, MappingForm, UploadForm
from profiles_ui.connections import all_connections
from profiles_ui.models import Batch, SavedMapping

# What runs when no --user is given: an account of the marketer role nobody logs in as, so
# history shows these batches as the scheduled import's.
SYSTEM_USERNAME = "system"
SYSTEM_ROLE = "marketer"

BAD_ARGUMENTS = 2  # the exit status; 1 is for rows that were invalid or not accepted

# "import" for profiles/import_batch, ...: what a crontab line reads best.
OPERATION_NAMES = {path.split("/")[1].removesuffix("_batch"): path for path in BULK_OPERATIONS}

# The option a form field's value comes from, to name it in a message.
OPTION_OF_FIELD = {
    "file": "FILE",
    "connection": "--connection",
    "operation": "--operation",
    "db_id": "--db-id",
    "workflow_id": "--workflow-id",
    "matching": "--matching",
    "field_name": "--field-name",
    "phone_region": "--phone-region",
}

POLL_SECONDS = 0.5
PLAIN_LINE_SECONDS = 10  # at most one progress line this often when not on a terminal
BAR_WIDTH = 30


def bad_argument(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_ARGUMENTS)


def system_user() -> AbstractBaseUser:
    """The `system` user, created on first use with the marketer role and no password."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: SYSTEM_USERNAME})
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=SYSTEM_ROLE))
    return user


class Command(BaseCommand):
    help = (
        "Check and send a CSV or JSON Lines file as the Bulk page does, in this process: the "
        "batch, its chunks' records and its report are kept the same way. Exits 0 when every "
        "row was sent (or checked, with --check-only), 1 when rows were invalid or failed, "
        "2 on bad arguments."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", metavar="FILE", help="The list, as the Bulk page takes it.")
        parser.add_argument("--connection", required=True, help="A connection's name.")
        parser.add_argument(
            "--operation",
            required=True,
            help=f"One of {', '.join(OPERATION_NAMES)} (or its method, e.g. profiles/add_batch).",
        )
        parser.add_argument("--db-id", type=int, help="The database to import into.")
        parser.add_argument("--workflow-id", type=int, help="The scenario, for import_and_start.")
        parser.add_argument("--matching", help="The matching mode (default: email).")
        parser.add_argument("--field-name", help="The custom field of field matching.")
        parser.add_argument(
            "--mapping", metavar="SAVED_NAME", help="A mapping saved on the Bulk page."
        )
        parser.add_argument(
            "--phone-region",
            help="Region of phone numbers written without a country code, e.g. RU.",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help=f"Whose batch it is (default: {SYSTEM_USERNAME}, a {SYSTEM_ROLE}).",
        )
        parser.add_argument("--check-only", action="store_true", help="Check; send nothing.")
        parser.add_argument(
            "--out",
            metavar="DIR",
            default=".",
            help="Where report.csv and invalid.csv go (default: the current directory).",
        )
        parser.add_argument(
            "--json", action="store_true", help="End with one line of JSON: counts and files."
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise bad_argument(f"FILE: {path} is not a file.")
        out_dir = Path(options["out"]).resolve()
        if not out_dir.is_dir():
            raise bad_argument(f"--out: {out_dir} is not a directory.")
        region = _phone_region(options["phone_region"])
        connection = all_connections().get(options["connection"])
        if connection is None:
            known = ", ".join(all_connections())
            raise bad_argument(
                f"--connection: no connection named {options['connection']!r} (there are: {known})."
            )
        operation = _operation(options["operation"])
        saved = None
        if options["mapping"]:
            saved = SavedMapping.objects.filter(name=options["mapping"]).first()
            if saved is None:
                raise bad_argument(f"--mapping: no saved mapping named {options['mapping']!r}.")
        user = _user(options["user"])
        self.as_json = options["json"]

        batch = self._upload(path, connection, operation, options, user)
        self.stdout.write(
            f"Batch {batch.pk}: {batch.original_name} to {connection.label}, "
            f"{operation} into database {batch.db_id}, as {user.get_username()}."
        )
        self._map(batch, connection, saved, options, region, user)
        batch = self._check(batch)
        if not options["check_only"]:
            batch = self._send(batch)
        self._finish(batch, out_dir, options["check_only"])

    # --- The Bulk page's steps ------------------------------------------------------------

    def _upload(self, path, connection, operation, options, user) -> Batch:
        """The upload form's checks and files.start, as the upload page does them."""
        with open(path, "rb") as content:
            upload = File(content, name=path.name)
            form = UploadForm(
                {
                    "connection": connection.name,
                    "operation": operation,
                    "db_id": options["db_id"] or "",
                    "workflow_id": options["workflow_id"] or "",
                },
                {"file": upload},
                connection=connection,
            )
            if not form.is_valid():
                raise bad_argument(_upload_errors(form, connection, options))
            try:
                batch = files.start(upload, user=user, connection=connection)
            except files.UnreadableFile as exc:
                raise bad_argument(f"FILE: this file cannot be read: {exc}.") from None
        Batch.objects.filter(pk=batch.pk).update(
            **{k: form.cleaned_data.get(k) for k in ("operation", "db_id", "workflow_id")},
            workflow_name=form.cleaned_data.get("workflow_name", ""),
        )
        batch.refresh_from_db()
        return batch

    def _map(self, batch, connection, saved, options, region, user) -> None:
        """The mapping form as the page first shows it (the saved mapping, or the guesses from
        the headers), with the options given, submitted."""
        custom = catalog.database_fields(connection, batch.db_id)
        resources = catalog.resources(connection)
        for error in (custom.error, resources.error):
            if error:
                self._say_on_stderr(f"Warning: {error}")
        unbound = MappingForm(
            batch=batch, custom=custom.items, resources=resources.items, saved=saved
        )
        data: dict[str, Any] = {}
        for name in unbound.fields:
            value = unbound[name].value()
            data[name] = "" if value is None else value
        for name in ("matching", "field_name"):
            if options[name] is not None:
                data[name] = options[name]
        if region:
            data["phone_region"] = region
        form = MappingForm(
            data, batch=batch, custom=custom.items, resources=resources.items, saved=saved
        )
        if not form.is_valid():
            # Nothing of a run refused at its mapping is kept: cron would pile up drafts.
            batch.file.delete(save=False)
            batch.delete()
            raise bad_argument(_form_errors(form))
        try:
            with transaction.atomic():
                mapping.apply_options(batch, form.cleaned_data, custom.items, user)
                tasks.start_check(batch)
        except check.BatchError as exc:
            raise CommandError(f"Batch {batch.pk}: {exc}.", returncode=1) from None
        for column in mapping.columns(batch):
            into = [t for t in (column.field, column.subscribe) if t]
            self.stdout.write(f"  {column.header} → {' + '.join(into) or 'not imported'}")

    def _check(self, batch: Batch) -> Batch:
        """The worker's check task, run here."""

        def checked() -> tuple[int, int]:
            return tuple(
                Batch.objects.values_list("checked_rows", "estimated_rows").get(pk=batch.pk)
            )

        line = ProgressLine(self.stdout, "Checking")
        with Watch(line, checked):
            tasks.check_batch.call(batch.pk)
        batch.refresh_from_db()
        if batch.state != Batch.State.CHECKED:
            line.finish(*checked())
            why = batch.error or batch.get_state_display().lower()
            self._say_on_stderr(f"Batch {batch.pk}: the check stopped: {why}.")
            self._result(batch)
            raise SystemExit(1)
        line.finish(batch.total_rows, batch.total_rows)
        self.stdout.write(
            f"Checked {batch.total_rows:,} rows: {batch.valid_rows:,} valid, "
            f"{batch.invalid_rows:,} invalid."
        )
        return batch

    def _send(self, batch: Batch) -> Batch:
        """The worker's send task, run here, once the batch is queued as the page queues it."""
        if not batch.valid_rows:
            self.stdout.write("Nothing sent: there is no valid row to send.")
            return batch
        tasks.start_send(batch)

        def sent() -> tuple[int, int]:
            progress = report.progress(Batch.objects.get(pk=batch.pk))
            return progress.sent, progress.planned

        line = ProgressLine(self.stdout, "Sending")
        with Watch(line, sent):
            tasks.send_batch.call(batch.pk)
            # Another process may have taken the batch first (resume_batches): wait for it.
            while Batch.objects.filter(pk=batch.pk, state__in=Batch.ACTIVE_STATES).exists():
                time.sleep(POLL_SECONDS)
        batch.refresh_from_db()
        line.finish(*sent())
        progress = report.progress(batch)
        self.stdout.write(
            f"Sent {progress.sent:,} of {batch.valid_rows:,} rows: {progress.succeeded:,} "
            f"accepted, {progress.failed:,} failed ({batch.get_state_display().lower()})."
        )
        if batch.error:
            self._say_on_stderr(f"Batch {batch.pk}: {batch.error}.")
        return batch

    def _finish(self, batch: Batch, out_dir: Path, check_only: bool) -> None:
        """Write the page's two downloads, say what became of the rows, exit 1 unless all
        went through."""
        report_path = out_dir / f"batch-{batch.pk}-report.csv"
        invalid_path = out_dir / f"batch-{batch.pk}-invalid-rows.csv"
        _write_report(batch, report_path)
        _copy_invalid_rows(batch, invalid_path)
        self.stdout.write(f"Report: {report_path}")
        self.stdout.write(f"Invalid rows: {invalid_path}")
        progress = report.progress(batch)
        problems = []
        if batch.invalid_rows:
            problems.append(f"{batch.invalid_rows:,} invalid rows (see {invalid_path})")
        if not check_only and progress.succeeded < batch.valid_rows:
            problems.append(
                f"{batch.valid_rows - progress.succeeded:,} of {batch.valid_rows:,} valid rows "
                f"not accepted (see {report_path})"
            )
        if problems:
            self._say_on_stderr(f"Batch {batch.pk}: {'; '.join(problems)}.")
        self._result(batch, report_path, invalid_path)
        if problems:
            raise SystemExit(1)  # not CommandError, whose message would follow the JSON line

    def _say_on_stderr(self, message: str) -> None:
        # Flushed both sides, so that where cron sends both to one log the lines keep their
        # order and the JSON line stays the last.
        self.stdout.flush()
        self.stderr.write(message)
        self.stderr.flush()

    def _result(
        self, batch: Batch, report_path: Path | None = None, invalid_path: Path | None = None
    ) -> report.Progress:
        """The batch's counts, and with --json the line that says them (the last line)."""
        progress = report.progress(batch)
        if self.as_json:
            result = {
                "batch": batch.pk,
                "rows": batch.total_rows,
                "valid": batch.valid_rows,
                "invalid": batch.invalid_rows,
                "sent": progress.succeeded,
                "failed": progress.failed,
                "report": str(report_path) if report_path else None,
                "invalid_rows": str(invalid_path) if invalid_path else None,
            }
            self.stdout.write(json.dumps(result))
        self.stdout.flush()
        return progress


# --- Arguments -------------------------------------------------------------------------------


def _phone_region(region: str | None) -> str:
    if region is None:
        return ""
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise bad_argument(
            f"--phone-region: {region!r} is not a region phonenumbers knows (use a two-letter "
            "code such as RU, KZ or DE)."
        )
    return region.upper()


def _operation(name: str) -> str:
    path = OPERATION_NAMES.get(name, name)
    if path not in BULK_OPERATIONS:
        names = ", ".join(
            f"{short} ({OPERATIONS[p].label})" for short, p in OPERATION_NAMES.items()
        )
        raise bad_argument(f"--operation: {name!r} is not a bulk operation (there are: {names}).")
    return path


def _user(username: str | None) -> AbstractBaseUser:
    if username is None:
        user = system_user()
    else:
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise bad_argument(f"--user: no user named {username!r}.")
        if not user.is_active:
            raise bad_argument(f"--user: {username} is not active.")
    if not user.has_perm(roles.SUBMIT):
        raise bad_argument(
            f"--user: {user.get_username()} may not send profiles: {roles.refuse(roles.SUBMIT)}"
        )
    return user


def _upload_errors(form: UploadForm, connection, options: dict) -> str:
    """The upload form's errors; a choice the catalog does not have is named with the choices
    there are, which the form (made for a select box) does not say."""
    lookups = [e for e in (form.databases.error, form.workflows.error) if e]
    for name, given, lookup in (
        ("db_id", options["db_id"], form.databases),
        ("workflow_id", options["workflow_id"], form.workflows),
    ):
        if given is not None and name in form.errors and not lookup.error:
            there = ", ".join(f"{item.id} {item.name}" for item in lookup.items) or "none"
            what = "database" if name == "db_id" else "scenario"
            form.errors[name] = form.error_class(
                [f"no {what} {given} on {connection.label} (there are: {there})"]
            )
    return _form_errors(form, lookups)


def _form_errors(form, notes: list[str] = ()) -> str:
    lines = []
    for name, errors in form.errors.items():
        if name == "__all__":
            where = "mapping"
        elif name in OPTION_OF_FIELD:
            where = OPTION_OF_FIELD[name]
        else:
            where = (
                f"column “{form.fields[name].label}”"
                if name.startswith(("field_", "sub_"))
                else form.fields[name].label
            )
        lines += [f"{where}: {error}" for error in errors]
    return "\n".join(lines + list(notes))


# --- Files -----------------------------------------------------------------------------------


def _private(path: Path, mode: str, **kwargs):
    """A file only its owner may read: it holds the customers' data."""
    return open(path, mode, opener=lambda p, flags: os.open(p, flags, 0o600), **kwargs)


def _write_report(batch: Batch, path: Path) -> None:
    """What the report download of the page streams."""
    rows = itertools.chain([report.REPORT_HEADER], report.report_rows(batch))
    with _private(path, "w", encoding="utf-8", newline="") as out:
        out.writelines(report.csv_lines(rows))


def _copy_invalid_rows(batch: Batch, path: Path) -> None:
    """The file the page's invalid-rows download serves, as it is."""
    with batch.invalid_file.open("rb") as source, _private(path, "wb") as out:
        shutil.copyfileobj(source, out)


# --- Progress --------------------------------------------------------------------------------


class ProgressLine:
    """On a terminal, one bar redrawn in place; otherwise a plain line now and then."""

    def __init__(self, stdout: OutputWrapper, label: str) -> None:
        self.stdout = stdout
        self.label = label
        self.on_terminal = stdout.isatty()
        self.shown: tuple[int, int] | None = None
        self.shown_at = 0.0

    def update(self, done: int, total: int) -> None:
        if (done, total) == self.shown:
            return
        if self.on_terminal:
            self.stdout.write("\r" + self._bar(done, total), ending="")
            self.stdout.flush()
        elif time.monotonic() - self.shown_at >= PLAIN_LINE_SECONDS:
            self.stdout.write(self._plain(done, total))
            self.shown_at = time.monotonic()
        self.shown = (done, total)

    def finish(self, done: int, total: int) -> None:
        if self.on_terminal:
            self.stdout.write("\r" + self._bar(done, total))
        elif self.shown != (done, total):
            self.stdout.write(self._plain(done, total))
        self.shown = (done, total)

    def _bar(self, done: int, total: int) -> str:
        share = min(done / total, 1.0) if total else 1.0
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return f"{self.label} [{bar}] {share:4.0%} {done:,}/{total:,} rows  "

    def _plain(self, done: int, total: int) -> str:
        return f"{self.label}: {done:,} of {total:,} rows"


class Watch:
    """Reads how far a step got, in a thread of its own, while the step runs in this one."""

    def __init__(self, line: ProgressLine, read: Callable[[], tuple[int, int]]) -> None:
        self.line = line
        self.read = read
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bulk-import-progress", daemon=True)

    def __enter__(self) -> "Watch":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        try:
            while not self.stop.wait(POLL_SECONDS):
                self.line.update(*self.read())
        finally:
            db_connection.close()
