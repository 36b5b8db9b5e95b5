from django.contrib.auth import views as auth_views
from django.urls import path

from profiles_ui import builder, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("connection/", views.switch_connection, name="switch_connection"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("builder/", builder.builder, name="builder"),
]
