from django.contrib import admin
from django.http import HttpRequest

from profiles_ui.models import Submission


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
