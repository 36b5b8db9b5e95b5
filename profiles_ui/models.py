import uuid

from django.conf import settings
from django.db import models


class SubmissionQuerySet(models.QuerySet):
    def delete(self):
        # PostgreSQL refuses this in a trigger too; SQLite relies on this check (see 0003).
        if self.filter(state__in=Submission.FINAL_STATES).exists():
            raise FinalRecordError("Final submissions cannot be deleted.")
        return super().delete()


class RowsOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded (all rows)"
    PARTLY_FAILED = "partly_failed", "Partly failed"
    FAILED = "failed", "Failed (all rows)"


class Submission(models.Model):
    """One request the console sent to Altcraft, and what came back: the audit record.

    Written (pending) before the request leaves and finalised once, after; final records are
    never changed again except by the retention purge, which only empties the bodies.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        REJECTED = "rejected", "Rejected by Altcraft"
        TRANSPORT_FAILED = "transport_failed", "Transport failure, outcome unknown"
        # HTTP 5xx: Altcraft failed while handling it, perhaps after applying it.
        OUTCOME_UNKNOWN = "outcome_unknown", "Server error, outcome unknown"
        BAD_RESPONSE = "bad_response", "Unreadable response"
        DUPLICATE = "duplicate", "Duplicate, not re-applied"

    FINAL_STATES = frozenset(State.values) - {State.PENDING}
    # No readable answer: Altcraft may have applied the request.
    UNKNOWN_OUTCOME_STATES = frozenset(
        {State.TRANSPORT_FAILED, State.OUTCOME_UNKNOWN, State.BAD_RESPONSE}
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Who: username and role are copied so the record outlives the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=32)

    # Where and what.
    connection = models.CharField(max_length=64)
    connection_production = models.BooleanField(default=False)
    operation = models.CharField(max_length=64)
    url = models.CharField(max_length=500)
    format = models.CharField(max_length=4, choices=[("json", "JSON"), ("xml", "XML")])
    request_id = models.UUIDField(default=uuid.uuid4, unique=True)
    request_body = models.TextField(help_text="As sent, with the token replaced by a placeholder.")

    # About whom, for search and the customer timeline.
    matching = models.CharField(max_length=32, blank=True)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    profile_id = models.CharField(max_length=64, blank=True, db_index=True)
    db_id = models.IntegerField(null=True, blank=True)
    workflow_id = models.IntegerField(null=True, blank=True)
    profile_count = models.PositiveIntegerField(default=1)

    # What came back.
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    error = models.IntegerField(null=True, blank=True, db_index=True)
    error_text = models.TextField(blank=True)
    results = models.JSONField(null=True, blank=True, help_text="Per-profile results of a batch.")
    transport_error = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # How a batch request's rows fared, set once when it becomes final (empty for a single
    # profile, and for batch records written before these columns existed).
    rows_outcome = models.CharField(max_length=13, choices=RowsOutcome.choices, blank=True)
    rows_failed = models.PositiveIntegerField(null=True, blank=True)

    # Lineage: a fix or a resend points at the record it came from and says why.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    reason = models.TextField(blank=True)

    purged_at = models.DateTimeField(null=True, blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        # No change or delete permissions: final records are immutable.
        default_permissions = ("view",)
        permissions = [
            ("submit_profile", "Can build, preview and send profiles"),
            ("view_all_submissions", "Can see every user's history"),
            ("resend_submission", "Can fix and resend a recorded request"),
            ("export_submissions", "Can export history"),
        ]
        indexes = [
            models.Index(fields=["state", "-id"], name="submission_state_idx"),
            models.Index(fields=["user", "-id"], name="submission_user_idx"),
            # History filters, newest first: each serves "WHERE x = ? ORDER BY id DESC LIMIT n"
            # and the capped count straight from the index, at any table size.
            models.Index(fields=["operation", "-id"], name="submission_operation_idx"),
            models.Index(fields=["error", "-id"], name="submission_error_idx"),
            models.Index(fields=["username", "-id"], name="submission_username_idx"),
            models.Index(fields=["rows_outcome", "-id"], name="submission_rows_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.request_id} ({self.get_state_display()})"

    def save(self, *args, **kwargs) -> None:
        # The database refuses this too; failing here first gives a clearer message.
        if not self._state.adding and self.is_final:
            raise FinalRecordError(f"Submission {self.pk} is final and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_final:
            raise FinalRecordError(f"Submission {self.pk} is final and cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def answered_success(self) -> bool:
        """Altcraft answered error 0, now or, for a duplicate, the first time it was sent."""
        return self.state in (self.State.SUCCEEDED, self.State.DUPLICATE) and self.error == 0

    @property
    def rows_text(self) -> str:
        """How the rows fared, as the pages say it: "Partly failed (3 of 100)"."""
        if self.rows_outcome == RowsOutcome.PARTLY_FAILED:
            return f"Partly failed ({self.rows_failed} of {self.profile_count} rows)"
        return RowsOutcome(self.rows_outcome).label if self.rows_outcome else ""


class FinalRecordError(Exception):
    """A final audit record was about to be changed or deleted."""


class InsertOnlyQuerySet(models.QuerySet):
    def delete(self):
        # The database refuses this too (PostgreSQL); SQLite relies on this check (see 0009).
        raise FinalRecordError(f"{self.model._meta.verbose_name_plural} cannot be deleted.")


class InsertOnly(models.Model):
    """A row of the audit trail: written once, never changed or deleted."""

    objects = InsertOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise FinalRecordError(f"{self._meta.verbose_name} {self.pk} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise FinalRecordError(f"{self._meta.verbose_name} {self.pk} cannot be deleted.")


class PurgeLog(InsertOnly):
    """One run of `purge_history`: who removed which records' bodies, and up to when."""

    ran_at = models.DateTimeField(auto_now_add=True)
    ran_by = models.CharField(max_length=150, help_text="The --by name, or the OS user.")
    older_than_days = models.PositiveIntegerField()
    cutoff = models.DateTimeField(help_text="Records created before this were purged.")
    records = models.PositiveIntegerField()
    first_id = models.BigIntegerField(null=True, blank=True)
    last_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"Purge by {self.ran_by} at {self.ran_at:%Y-%m-%d %H:%M}: {self.records} records"


class RecordView(InsertOnly):
    """Someone opened a record's detail page: reading personal data is itself audited."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="views")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150)
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["submission", "-id"], name="recordview_submission_idx")]

    def __str__(self) -> str:
        return f"{self.username} viewed submission {self.submission_id}"


class ProfileLookup(InsertOnly):
    """Someone looked a customer up in Altcraft: who, when, by which identifier, where.

    The sibling of RecordView for reads that are not of a record; chained the same way.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, db_index=True)
    looked_up_at = models.DateTimeField(auto_now_add=True, db_index=True)
    identifier_kind = models.CharField(max_length=16)
    field_name = models.CharField(max_length=100, blank=True)
    identifier = models.CharField(max_length=254, db_index=True)
    connection = models.CharField(max_length=64)
    db_id = models.IntegerField(null=True, blank=True)
    # What Altcraft answered: 0 found, 404 none, 435 several, or another error code.
    outcome = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        permissions = [
            ("lookup_profile", "Can look profiles up in Altcraft"),
            ("change_live_profile", "Can change profiles and subscriptions in Altcraft"),
            ("delete_live_profile", "Can delete profiles in Altcraft"),
        ]

    def __str__(self) -> str:
        return f"{self.username} looked up {self.identifier_kind} {self.identifier}"


class SavedMapping(models.Model):
    """A column mapping kept under a name, to be applied to the next file with the same columns."""

    name = models.CharField(max_length=100, unique=True)
    # [{"header": ..., "field": ..., "subscribe": ...}, ...] as bulk_io.Column.
    columns = models.JSONField(default=list)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Batch(models.Model):
    """One uploaded list sent as many batch requests; its chunks hold what was planned and sent.

    Counts shown on the pages are aggregated from the chunks, never kept here as running
    totals, so a chunk re-delivered after a crash cannot be counted twice.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Uploaded, not checked yet"
        CHECKING = "checking", "Checking its rows"
        CHECKED = "checked", "Checked, ready to send"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Sending"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Stopped by an error"

    class ParentRows(models.TextChoices):
        FAILED = "failed", "its failed rows"
        RETRYABLE = "retryable", "its rows a retry can help"
        NOT_FOUND = "not_found", "its rows not found, imported instead"

    ACTIVE_STATES = frozenset({State.QUEUED, State.RUNNING})
    FINAL_STATES = frozenset({State.CANCELLED, State.FINISHED, State.FAILED})

    class EmptyCells(models.TextChoices):
        LEAVE = "leave", "Leave the field as it is"
        CLEAR = "clear", "Clear the field"

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150)
    # A follow-up of another batch (a retry, an import of the rows not found, a fix of one
    # chunk's rows) reads the same file, only the parent's rows that `parent_rows` selects,
    # of `parent_chunk` alone when it is set.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries"
    )
    parent_rows = models.CharField(
        max_length=9, choices=ParentRows.choices, default=ParentRows.FAILED
    )
    parent_chunk = models.ForeignKey(
        "BatchChunk", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )

    # The file, as uploaded and as sniffed.
    file = models.FileField(upload_to="bulk/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=5)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)

    # What to send.
    connection = models.CharField(max_length=64)
    connection_production = models.BooleanField(default=False)
    operation = models.CharField(max_length=64)
    db_id = models.IntegerField(null=True, blank=True)
    workflow_id = models.IntegerField(null=True, blank=True)
    workflow_name = models.CharField(max_length=200, blank=True)
    matching = models.CharField(max_length=32, blank=True)
    field_name = models.CharField(max_length=100, blank=True)
    skip_triggers = models.BooleanField(default=False)
    skip_invalid_subscriptions = models.BooleanField(default=False)
    empty_cells = models.CharField(
        max_length=5, choices=EmptyCells.choices, default=EmptyCells.LEAVE
    )
    # Phones written without a country code are read as numbers of this region.
    phone_region = models.CharField(max_length=3, blank=True)
    columns = models.JSONField(default=list, help_text="The mapping, as bulk_io.Column dicts.")
    custom_types = models.JSONField(default=dict)

    # The check: how far it got, counts, the first invalid rows, and the file of all of them.
    estimated_rows = models.PositiveIntegerField(default=0)
    checked_rows = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    invalid_rows = models.PositiveIntegerField(default=0)
    invalid_sample = models.JSONField(default=list)
    # The first valid rows whose cells were converted: [{"row": n, "cells": [[column,
    # as written, as sent], ...]}], shown so the operator sees what is sent.
    conversion_sample = models.JSONField(default=list)
    invalid_file = models.FileField(upload_to="bulk/%Y/%m/", max_length=300, blank=True)

    # Sending.
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    cancel_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="batch_state_idx")]

    def __str__(self) -> str:
        return f"Batch {self.pk}: {self.original_name} ({self.get_state_display()})"

    @property
    def state_text(self) -> str:
        """The state as the pages show it: a checked batch without a valid row is not ready."""
        if self.state == self.State.CHECKED and not self.valid_rows:
            return "Checked: no valid row, nothing to send"
        return self.get_state_display()


class BatchChunk(models.Model):
    """One planned request of a batch: which rows, under which Request-ID, and what came back.

    Planned (with its Request-ID, and its body written to a file) before anything is sent, so
    a resumed batch sends the same body again and Altcraft's deduplication recognises it.
    """

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_row = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    request_id = models.UUIDField(unique=True)
    body_sha256 = models.CharField(max_length=64)
    # The file row number and the identifier of each profile, in body order. Kept here so the
    # report and a retry need neither the file nor the mapping again.
    rows = models.JSONField(default=list)
    identifiers = models.JSONField(default=list)
    submission = models.OneToOneField(
        Submission, null=True, blank=True, on_delete=models.PROTECT, related_name="batch_chunk"
    )
    done = models.BooleanField(default=False)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["batch", "index"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="batchchunk_batch_index")
        ]

    def __str__(self) -> str:
        return f"Batch {self.batch_id} chunk {self.index}"


class AuditEntry(InsertOnly):
    """One link of the chain that makes the audit trail tamper-evident (see audit.py).

    Each final record, record view and purge gets an entry when it is written, holding a
    digest of its content and an HMAC over that digest and the entry before it. An edited,
    removed or forged record, or an edited or removed entry, breaks the chain from there on;
    `manage.py verify_history` walks it and names the first break.
    """

    class Kind(models.TextChoices):
        RECORD = "record", "Record"
        VIEW = "view", "Record view"
        PURGE = "purge", "Purge"
        LOOKUP = "lookup", "Profile lookup"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # A record's bodies as they were when it became final: a purge may empty them later.
    body_sha256 = models.CharField(max_length=64, blank=True)
    content_sha256 = models.CharField(max_length=64)
    # Unique: two entries can never follow the same one, so the chain cannot fork.
    previous = models.CharField(max_length=64, unique=True)
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="auditentry_one_per_object")
        ]

    def __str__(self) -> str:
        return f"Chain entry {self.pk}: {self.kind} {self.object_id}"


class ChainCheck(InsertOnly):
    """One run of verify_history: when, how far, and whether the chain held."""

    checked_at = models.DateTimeField(auto_now_add=True)
    held = models.BooleanField()
    entries = models.PositiveIntegerField()
    last_mac = models.CharField(max_length=64, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"Chain check {self.checked_at:%Y-%m-%d %H:%M}: {'held' if self.held else 'broken'}"


class Identifier(InsertOnly):
    """A customer identifier a record carries, normalised: what search and the timeline use.

    Derived from the record's body and answer and written in the same transaction; insert-only
    like the record itself, so what the history finds cannot be changed silently.
    """

    submission = models.ForeignKey(
        Submission, on_delete=models.PROTECT, related_name="identifier_rows", db_index=False
    )
    row = models.PositiveIntegerField(
        null=True, blank=True, help_text="Index in a batch's data; empty for a single request."
    )
    kind = models.CharField(max_length=16)
    value = models.CharField(max_length=254)

    class Meta:
        indexes = [
            # Equality and prefix search; pattern ops serve LIKE 'x%' under any collation on
            # PostgreSQL (SQLite ignores them). Substring search has pg_trgm's index (0012).
            models.Index(
                fields=["value"], name="identifier_value", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["submission", "row"], name="identifier_record_row"),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.kind} {self.value} (record {self.submission_id}, row {self.row})"
