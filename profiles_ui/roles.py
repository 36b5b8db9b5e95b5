"""The four roles of the console, as groups with permissions.

The groups are created by migration 0002 and re-created after every `post_migrate` (a test
database flush empties them; Django recreates permissions the same way).
"""

from collections.abc import Callable
from functools import reduce, wraps
from operator import or_

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q

# Strongest first: a user in several groups is shown by the strongest.
ROLES = ("admin", "support", "auditor", "marketer")

SUBMIT = "profiles_ui.submit_profile"
VIEW_HISTORY = "profiles_ui.view_submission"
VIEW_ALL_HISTORY = "profiles_ui.view_all_submissions"
RESEND = "profiles_ui.resend_submission"
EXPORT = "profiles_ui.export_submissions"
RESET_SANDBOX = "altcraft_sandbox.reset_sandbox"
VIEW_ACCESS_LOG = "profiles_ui.view_recordview"
VIEW_PURGE_LOG = "profiles_ui.view_purgelog"
VIEW_CHAIN_CHECKS = "profiles_ui.view_chaincheck"
LOOKUP_PROFILE = "profiles_ui.lookup_profile"
CHANGE_LIVE_PROFILE = "profiles_ui.change_live_profile"
DELETE_LIVE_PROFILE = "profiles_ui.delete_live_profile"
VIEW_LOOKUPS = "profiles_ui.view_profilelookup"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "marketer": frozenset({SUBMIT, VIEW_HISTORY, LOOKUP_PROFILE, CHANGE_LIVE_PROFILE}),
    "support": frozenset(
        {
            SUBMIT,
            VIEW_HISTORY,
            VIEW_ALL_HISTORY,
            RESEND,
            EXPORT,
            LOOKUP_PROFILE,
            CHANGE_LIVE_PROFILE,
            DELETE_LIVE_PROFILE,
            VIEW_LOOKUPS,
        }
    ),
    "auditor": frozenset(
        {VIEW_HISTORY, VIEW_ALL_HISTORY, EXPORT, VIEW_CHAIN_CHECKS, LOOKUP_PROFILE, VIEW_LOOKUPS}
    ),
    "admin": frozenset(
        {
            SUBMIT,
            VIEW_HISTORY,
            VIEW_ALL_HISTORY,
            RESEND,
            EXPORT,
            RESET_SANDBOX,
            VIEW_ACCESS_LOG,
            VIEW_PURGE_LOG,
            VIEW_CHAIN_CHECKS,
            LOOKUP_PROFILE,
            CHANGE_LIVE_PROFILE,
            DELETE_LIVE_PROFILE,
            VIEW_LOOKUPS,
        }
    ),
}


# How a page names the people of each role.
ROLE_NAMES = {
    "admin": "admins",
    "support": "support staff",
    "auditor": "auditors",
    "marketer": "marketers",
}


def who_may(permission: str) -> str:
    """'support staff and admins': the roles that hold a permission, in words."""
    names = [ROLE_NAMES[role] for role in reversed(ROLES) if permission in ROLE_PERMISSIONS[role]]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def refuse(permission: str) -> PermissionDenied:
    """The refusal a page gives a user without `permission`: it says who may."""
    return PermissionDenied(f"This is for {who_may(permission)}.")


def required(permission: str) -> Callable:
    """A view decorator: the user must hold `permission` (else a 403 saying who may)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise refuse(permission)
            return view(request, *args, **kwargs)

        return checked

    return decorator


def user_role(user: AbstractBaseUser | AnonymousUser) -> str:
    if not user.is_authenticated:
        return ""
    if user.is_superuser:
        return "admin"
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in ROLES if role in names), "")


def sync_role_groups(group_model: type[Model], permission_model: type[Model]) -> None:
    """Create the role groups and grant what each needs; never takes a permission away.

    Takes the models as arguments so a migration can pass its historical ones. Permissions
    that do not exist yet (an app not migrated so far) are granted on a later call.
    """
    for role, permissions in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = reduce(
            or_,
            (
                Q(content_type__app_label=app_label, codename=codename)
                for app_label, codename in (name.split(".") for name in permissions)
            ),
        )
        group.permissions.add(*permission_model.objects.filter(wanted))


PERMISSION_APPS = frozenset(
    name.split(".")[0] for permissions in ROLE_PERMISSIONS.values() for name in permissions
)


def sync_role_groups_after_migrate(app_config, **kwargs) -> None:
    # Only after the apps whose permissions the roles hold have been (re)migrated.
    if app_config.label not in PERMISSION_APPS:
        return
    from django.contrib.auth.models import Group, Permission

    sync_role_groups(Group, Permission)


def sync_role_groups_in_migration(apps, app_label: str) -> None:
    """For a data migration: create `app_label`'s permissions now, then sync the roles.

    Django creates permissions only after all migrations, but the groups need them now.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))
