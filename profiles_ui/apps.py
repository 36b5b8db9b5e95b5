from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProfilesUiConfig(AppConfig):
    name = "profiles_ui"
    verbose_name = "Profile console"

    def ready(self) -> None:
        from profiles_ui.roles import sync_role_groups_after_migrate

        # No sender: the sandbox's reset permission is granted when its own post_migrate comes.
        post_migrate.connect(sync_role_groups_after_migrate, dispatch_uid="sync_role_groups")
