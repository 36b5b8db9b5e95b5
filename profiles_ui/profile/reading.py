"""Asking Altcraft for one profile, writing who asked to the access log, and the context
the profile page shows around it (field labels, resources, the console's own timeline)."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from altcraft.client import TransportError
from altcraft.live_profile import Identifier, get_body, profile_of
from profiles_ui import audit, catalog, services
from profiles_ui.connections import Connection
from profiles_ui.history import identifiers as found
from profiles_ui.history import timeline

TIMELINE_LENGTH = 20


@dataclass
class Reading:
    """What profiles/get answered: the profile, or the error code and its words."""

    profile: dict[str, Any] = field(default_factory=dict)
    error: int | None = None
    error_text: str = ""

    @property
    def found(self) -> bool:
        return self.error == 0 and bool(self.profile)


def read(connection: Connection, identifier: Identifier, db_id: int) -> Reading:
    """profiles/get, read-only: not a submission, but its answer code is kept."""
    body = services.request_body(get_body(identifier, db_id), "json", connection)
    try:
        response = services.client_for(connection).send(
            "profiles/get",
            body,
            fmt="json",
            token=connection.token(),
            token_placement=connection.token_placement,
        )
    except TransportError as exc:
        return Reading(error=None, error_text=f"Altcraft could not be reached: {exc.reason}")
    if response.bad_response:
        return Reading(error=None, error_text=response.bad_response)
    return Reading(profile_of(response.data or {}), response.error, response.error_text)


def read_and_log(
    user: AbstractBaseUser, connection: Connection, identifier: Identifier, db_id: int
) -> Reading:
    reading = read(connection, identifier, db_id)
    audit.log_lookup(
        user,
        identifier_kind=identifier.kind,
        field_name=identifier.field_name[:100],
        identifier=identifier.value[:254],
        connection=connection.name,
        db_id=db_id,
        outcome=reading.error,
    )
    return reading


def console_timeline(
    user: AbstractBaseUser, identifier: Identifier, connection: Connection | None = None
) -> timeline.Page:
    """The console's own requests about this customer, newest first: the history's timeline,
    with what each set and what Altcraft answered for this customer's row."""
    from profiles_ui.history.forms import visible_records

    region = found.phone_region(connection)
    return timeline.page(
        visible_records(user),
        identifier.value,
        region=region,
        size=TIMELINE_LENGTH,
    )


def candidates(user: AbstractBaseUser, identifier: Identifier) -> list[str]:
    """For a 435: the profile IDs the console's history knows for this identifier.

    Altcraft answers an ambiguous lookup with the code only; what the console sent and got
    back is where candidate profiles can be named.
    """
    from profiles_ui.history.forms import visible_records

    column = {"email": "email", "phone": "phone"}.get(identifier.kind)
    if column is None:
        return []
    ids = (
        visible_records(user)
        .filter(**{column: identifier.value})
        .exclude(profile_id="")
        .values_list("profile_id", flat=True)
        .distinct()
    )
    return sorted(set(ids))[:20]


def field_rows(connection: Connection, db_id: int, profile: dict[str, Any]) -> list[dict]:
    """The profile's fields, system ones first, custom ones labelled from fields_get."""
    from altcraft.live_profile import fields_of

    labels = {f.name: f.title for f in catalog.database_fields(connection, db_id).items}
    rows = []
    for name, value in fields_of(profile).items():
        rows.append(
            {
                "name": name,
                "label": labels.get(name, ""),
                "custom": name in labels,
                "value": value,
            }
        )
    rows.sort(
        key=lambda r: (
            r["custom"],
            not r["name"].startswith("_") and r["name"] not in ("email", "phones"),
            r["name"],
        )
    )
    return rows


def resource_names(connection: Connection) -> dict[int, str]:
    return {r.id: r.name for r in catalog.resources(connection).items}
