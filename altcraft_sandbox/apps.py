from django.apps import AppConfig


class AltcraftSandboxConfig(AppConfig):
    name = "altcraft_sandbox"
    verbose_name = "Altcraft sandbox"
