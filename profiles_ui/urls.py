from django.contrib.auth import views as auth_views
from django.urls import path

from profiles_ui import views
from profiles_ui.builder import views as builder
from profiles_ui.bulk import views as bulk
from profiles_ui.history import views as history
from profiles_ui.profile import views as live_profile

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("connection/", views.switch_connection, name="switch_connection"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("builder/", builder.builder, name="builder"),
    path("history/", history.history, name="history"),
    path("history/<int:pk>/", history.history_record, name="history_record"),
    path("history/<int:pk>/resend/", history.history_resend, name="history_resend"),
    path("history/timeline/", history.history_timeline, name="history_timeline"),
    path("history/lookup/", history.history_lookup, name="history_lookup"),
    path("history/export.csv", history.history_export_csv, name="history_export_csv"),
    path("history/export.jsonl", history.history_export_jsonl, name="history_export_jsonl"),
    path("bulk/", bulk.bulk_upload, name="bulk_upload"),
    path("bulk/<int:pk>/", bulk.bulk_progress, name="bulk_progress"),
    path("bulk/<int:pk>/mapping/", bulk.bulk_mapping, name="bulk_mapping"),
    path("bulk/<int:pk>/preview/", bulk.bulk_preview, name="bulk_preview"),
    path("bulk/<int:pk>/stop-check/", bulk.bulk_stop_check, name="bulk_stop_check"),
    path("bulk/<int:pk>/invalid.csv", bulk.bulk_invalid_rows, name="bulk_invalid_rows"),
    path("bulk/<int:pk>/cancel/", bulk.bulk_cancel, name="bulk_cancel"),
    path("bulk/<int:pk>/report.csv", bulk.bulk_report, name="bulk_report"),
    path("bulk/<int:pk>/retry/", bulk.bulk_retry, name="bulk_retry"),
    path("bulk/<int:pk>/import-instead/", bulk.bulk_import_instead, name="bulk_import_instead"),
    path("bulk/<int:pk>/fix-rows/", bulk.bulk_fix_rows, name="bulk_fix_rows"),
    path("profile/", live_profile.profile, name="profile"),
    path("profile/change/", live_profile.profile_change, name="profile_change"),
    path("profile/lookups/", live_profile.profile_lookups, name="profile_lookups"),
]
