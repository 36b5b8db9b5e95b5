from django.contrib.auth import views as auth_views
from django.urls import path

from profiles_ui import builder, history, views

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
    path("history/export.csv", history.history_export_csv, name="history_export_csv"),
    path("history/export.jsonl", history.history_export_jsonl, name="history_export_jsonl"),
]
