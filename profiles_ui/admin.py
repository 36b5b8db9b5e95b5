from django.contrib import admin, messages
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from profiles_ui.models import AuditEntry, ChainCheck, PurgeLog, RecordView, Submission


class FiltersSafely(admin.ModelAdmin):
    """A list whose filters the database cannot take (a NUL character, a number out of range)
    says so and shows the list unfiltered, instead of failing."""

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        try:
            with transaction.atomic():
                response = super().changelist_view(request, extra_context)
                if hasattr(response, "render"):
                    response.render()  # the list's queries run here
                return response
        except (DatabaseError, OverflowError, ValueError):
            filters = ", ".join(sorted(request.GET)) or "the filters"
            messages.error(
                request,
                f"Filter: {filters} cannot be applied (a value is out of range, or holds a "
                "character the database refuses); the list is shown unfiltered.",
            )
            return HttpResponseRedirect(request.path)


@admin.register(Submission)
class SubmissionAdmin(FiltersSafely):
    """Audit records are read-only here: they are written only by services.submit()."""

    list_display = [
        "id", "created_at", "username", "connection", "operation", "state", "error",
        "error_text", "duration",
    ]  # fmt: skip
    list_filter = ["state", "operation", "connection"]
    search_fields = ["email", "phone", "profile_id", "=request_id", "username"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Duration", ordering="duration_ms")
    def duration(self, record: Submission) -> str:
        return "" if record.duration_ms is None else f"{record.duration_ms:,.0f} ms"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Submission | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Submission | None = None) -> bool:
        return False


class ReadOnlyAdmin(FiltersSafely):
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


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "object_id", "mac"]
    list_filter = ["kind"]
    show_full_result_count = False


@admin.register(ChainCheck)
class ChainCheckAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "held", "entries", "problem"]
