import uuid

from django.conf import settings
from django.db import models


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
        BAD_RESPONSE = "bad_response", "Unreadable response"
        DUPLICATE = "duplicate", "Duplicate, not re-applied"

    FINAL_STATES = frozenset(State.values) - {State.PENDING}

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

    # Lineage: a fix or a resend points at the record it came from and says why.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    reason = models.TextField(blank=True)

    purged_at = models.DateTimeField(null=True, blank=True)

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


class FinalRecordError(Exception):
    """A final audit record was about to be changed or deleted."""

class PurgeLog(models.Model):
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


class RecordView(models.Model):
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

