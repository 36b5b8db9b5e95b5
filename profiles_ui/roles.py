"""The four roles of the console. Groups and their permissions are created by a migration."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# Strongest first: a user in several groups is shown by the strongest.
ROLES = ("admin", "support", "auditor", "marketer")

SUBMIT = "profiles_ui.submit_profile"
VIEW_HISTORY = "profiles_ui.view_submission"
VIEW_ALL_HISTORY = "profiles_ui.view_all_submissions"
RESEND = "profiles_ui.resend_submission"
EXPORT = "profiles_ui.export_submissions"


def user_role(user: AbstractBaseUser | AnonymousUser) -> str:
    if not user.is_authenticated:
        return ""
    if user.is_superuser:
        return "admin"
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in ROLES if role in names), "")
