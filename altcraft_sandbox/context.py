"""One API call as the handlers see it, and what its token may reach."""

from dataclasses import dataclass

from django.db.models import Prefetch

from altcraft.formats import int_or_none
from altcraft_sandbox.changes import ItemError
from altcraft_sandbox.models import Database, Resource, Workflow

SUCCESS = "Successful operation"


@dataclass
class Call:
    method: str
    payload: dict
    group_id: int
    request_id: str = ""
    # The Content-Type format of the body, to decode XML again once the database is known.
    body_format: str = "json"


def ok(**extra: object) -> dict:
    return {"error": 0, "error_text": SUCCESS, **extra}


def int_param(payload: dict, name: str, default: int | None = None) -> int | None:
    """An integer parameter; XML carries it as text. Missing: the default."""
    value = payload.get(name, default)
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    number = int_or_none(value) if isinstance(value, str) else None
    if number is None:
        raise ItemError(400, f"{name}: must be an integer")
    return number


def required_id(payload: dict, *names: str) -> int:
    for name in names:
        if name in payload:
            value = int_param(payload, name)
            if value is not None:
                return value
    raise ItemError(400, f"{names[0]}: required")


def not_visible(model: type, object_id: int, where: str, what: str) -> ItemError:
    """404 when there is no such object, 441 when it is another group's (contract §7)."""
    if model.objects.filter(id=object_id).exists():
        return ItemError(441, f"{where}: {what} {object_id} belongs to another group")
    return ItemError(404, f"{where}: {what} {object_id} not found")


def visible_database(call: Call, db_id: int) -> Database:
    database = Database.objects.filter(id=db_id, group_id=call.group_id).first()
    if database is None:
        raise not_visible(Database, db_id, "db_id", "database")
    return database


def visible_workflow(call: Call, workflow_id: int) -> Workflow:
    workflow = (
        Workflow.objects.select_related("database")
        .filter(id=workflow_id, group_id=call.group_id)
        .first()
    )
    if workflow is None:
        raise not_visible(Workflow, workflow_id, "workflow_id", "scenario")
    return workflow


def visible_resources(call: Call) -> dict[int, Resource]:
    """The token's resources, each with `db_ids`: the databases it serves."""
    resources = Resource.objects.filter(group_id=call.group_id).prefetch_related(
        Prefetch("databases", Database.objects.only("id"))
    )
    found = {}
    for resource in resources:
        resource.db_ids = {database.id for database in resource.databases.all()}
        found[resource.id] = resource
    return found
