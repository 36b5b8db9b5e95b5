from django.contrib import admin
from django.http import HttpRequest

from profiles_ui.models import PurgeLog, RecordView, Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Audit records are read-only here: they are written only by services.submit()."""

    list_display = ["id", "created_at", "username", "connection", "operation", "state", "error"]
    list_filter = ["state", "operation", "connection"]
    search_fields = ["email", "phone", "profile_id", "=request_id", "username"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Submission | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Submission | None = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit trails: written by the console itself, only ever read here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PurgeLog)
class PurgeLogAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "ran_by", "cutoff", "records", "first_id", "last_id"]


@admin.register(RecordView)
class RecordViewAdmin(ReadOnlyAdmin):
    list_display = ["viewed_at", "username", "submission"]
    list_select_related = ["submission"]
    search_fields = ["username", "=submission__id"]
    raw_id_fields = ["submission", "user"]
    date_hierarchy = "viewed_at"
    show_full_result_count = False
