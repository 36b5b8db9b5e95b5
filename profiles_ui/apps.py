from django.apps import AppConfig


class ProfilesUiConfig(AppConfig):
    name = "profiles_ui"
    verbose_name = "Profile console"
