"""The rows the sandbox engine works on: lighter than model instances, which matters when a
batch creates or loads 10,000 profiles, and what a profile is looked up by."""

from collections.abc import Iterable

from altcraft_sandbox.changes import normalise_email, normalise_phone


class ProfileRow:
    """A profile as the engine works on it: lighter than a model instance, which matters
    when a batch creates or loads 10,000 of them."""

    __slots__ = ("id", "email", "fields")

    def __init__(self, id: str, email: str, fields: dict) -> None:  # noqa: A002 - the column
        self.id, self.email, self.fields = id, email, fields


SUB_COLUMNS = (
    "id",
    "profile_id",
    "resource_id",
    "channel",
    "identifier",
    "provider",
    "status",
    "priority",
    "custom_fields",
    "cats",
)


class SubRow:
    __slots__ = (*SUB_COLUMNS, "changed")

    def __init__(
        self,
        id: int | None,  # noqa: A002 - the column
        profile_id: str,
        resource_id: int,
        channel: str,
        identifier: str,
        provider: str,
        status: int,
        priority: int,
        custom_fields: dict,
        cats: list,
    ) -> None:
        self.id, self.profile_id, self.resource_id = id, profile_id, resource_id
        self.channel, self.identifier, self.provider = channel, identifier, provider
        self.status, self.priority = status, priority
        self.custom_fields, self.cats = custom_fields, cats
        self.changed = False


class Lookup:
    """What one profile is looked up by: the values a matching mode reads."""

    def __init__(
        self,
        mode: str,
        *,
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        profile_id: str = "",
        push: tuple[str, str] | None = None,
        field_name: str = "",
        field_value: object = None,
    ) -> None:
        self.mode = mode
        self.emails = {normalise_email(e) for e in emails if e}
        self.phones = {normalise_phone(p) for p in phones if p}
        self.profile_id = profile_id
        self.push = push
        self.field_name = field_name
        self.field_value = field_value
