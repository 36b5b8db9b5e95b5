"""The data-changing methods: profiles/import, update, add and their batches, and
workflows/import_and_start[_batch]. Each validates with the contract, then matches and applies
through the engine's Workspace."""

import re

from altcraft.codec import PayloadError, decode
from altcraft.matching import effective_mode
from altcraft.operations import OPERATIONS, Operation
from altcraft.validation import Problem, validate
from altcraft_sandbox.changes import ItemError, read_subscription
from altcraft_sandbox.context import (
    Call,
    int_param,
    ok,
    visible_database,
    visible_resources,
    visible_workflow,
)
from altcraft_sandbox.engine import Workspace
from altcraft_sandbox.models import Database, Workflow
from altcraft_sandbox.rows import Lookup

_ITEM_PATH = re.compile(r"data\[(\d+)\]")
# Parameters that choose how to talk rather than what to do: not part of the validated body.
TRANSPORT_PARAMS = ("token", "format")
MAX_PROBLEMS = 3

# An inactive scenario cannot take profiles. The documented codes offer 403 (no rights) and
# 404 (not found), but the console reads those as a token or ID problem; 450, "incorrect
# request", says the request itself cannot be carried out as asked while the scenario exists
# and the token may use it. The whole request is refused, so nothing is imported either.
INACTIVE_SCENARIO = 450


def _problem_text(problems: list[Problem]) -> str:
    return "; ".join(str(p) for p in problems[:MAX_PROBLEMS])


def _target(call: Call, op: Operation) -> tuple[Database | None, Workflow | None]:
    payload = call.payload
    if op.needs_workflow_id:
        workflow_id = payload.get("workflow_id")
        if not isinstance(workflow_id, int) or isinstance(workflow_id, bool):
            return None, None  # validation names the problem
        workflow = visible_workflow(call, workflow_id)
        if not workflow.is_active:
            raise ItemError(INACTIVE_SCENARIO, f"workflow_id: scenario {workflow.id} is not active")
        return workflow.database, workflow
    db_id = payload.get("db_id")
    if not isinstance(db_id, int) or isinstance(db_id, bool):
        return None, None
    return visible_database(call, db_id), None


def _redecode(call: Call, body: bytes, database: Database) -> None:
    """XML has only text: once the database is known its custom fields type the values."""
    try:
        payload = decode(
            body, "xml", operation=call.method, custom_field_types=database.field_types()
        )
    except PayloadError as exc:
        raise ItemError(400, str(exc)) from None
    for name in TRANSPORT_PARAMS:
        payload.pop(name, None)
    call.payload = payload


def single_lookup(payload: dict, mode: str) -> Lookup:
    push = (str(payload.get("provider", "")), str(payload.get("subscription_id", "")))
    return Lookup(
        mode,
        emails=[payload["email"]] if isinstance(payload.get("email"), str) else [],
        phones=[payload["phone"]] if isinstance(payload.get("phone"), str) else [],
        profile_id=str(payload.get("profile_id", "")),
        push=push if mode == "push_sub" else None,
        field_name=str(payload.get("field_name", "")),
        field_value=payload.get("field_value"),
    )


def item_lookup(item: dict, mode: str, field_name: str) -> Lookup:
    """Decisions table: a batch item carries its own lookup value."""
    phones = item.get("phones", [])
    push = None
    if mode == "push_sub":
        for i, sub in enumerate(item.get("subscriptions") or []):
            change = read_subscription(sub, f"subscriptions[{i}]")
            if change.channel == "push":
                push = (change.provider, change.identifier)
                break
    return Lookup(
        mode,
        emails=[item["email"]] if isinstance(item.get("email"), str) else [],
        phones=phones if isinstance(phones, list) else [phones],
        profile_id=str(item.get("profile_id", "")),
        push=push,
        field_name=field_name,
        field_value=item.get(field_name) if field_name else None,
    )


def run(call: Call, body: bytes) -> dict:
    op = OPERATIONS[call.method]
    database, workflow = _target(call, op)
    if database is not None and call.body_format == "xml":
        _redecode(call, body, database)
    types = database.field_types() if database is not None else None
    problems = validate(op.path, call.payload, custom_field_types=types)
    request_problems = [p for p in problems if not _ITEM_PATH.match(p.path)]
    if request_problems or database is None or not op.is_batch and problems:
        raise ItemError(400, _problem_text(problems) or "db_id: required")
    workspace = Workspace(database, visible_resources(call))
    if op.is_batch:
        return _run_batch(call, op, workspace, workflow, problems)
    return _run_single(call, op, workspace, workflow)


def _mode(call: Call, op: Operation) -> str | None:
    if not op.takes_matching:
        return None
    return effective_mode(call.payload, update="profile_id" in op.matching_modes)


def _emails(items: list) -> set[str]:
    return {
        i["email"].lower() for i in items if isinstance(i, dict) and isinstance(i.get("email"), str)
    }


def _run_single(call: Call, op: Operation, ws: Workspace, workflow: Workflow | None) -> dict:
    payload = call.payload
    data = payload.get("data") or {}
    mode = _mode(call, op)
    lookup = single_lookup(payload, mode) if mode else None
    ws.load([lookup] if lookup else [], _emails([data]))
    pid = ws.find_one(lookup, int_param(payload, "resource_id")) if lookup else None
    if pid is None and (op.path == "profiles/update" or mode == "profile_id"):
        raise ItemError(404, f"no profile matches this {mode} lookup")
    skip = bool(payload.get("skip_invalid_subscriptions"))
    pid = ws.apply(pid, data, skip_invalid=skip, seed=lookup)
    if workflow is not None:
        ws.load_entries(workflow)
        ws.enter(pid, workflow, payload.get("content") or {}, call.request_id)
    ws.flush()
    return ok(profile_id=pid)


def _run_batch(
    call: Call, op: Operation, ws: Workspace, workflow: Workflow | None, problems: list[Problem]
) -> dict:
    payload = call.payload
    items: list = payload["data"]
    bad: dict[int, list[Problem]] = {}
    for problem in problems:
        bad.setdefault(int(_ITEM_PATH.match(problem.path).group(1)), []).append(problem)
    mode = _mode(call, op)
    field_name = str(payload.get("field_name", ""))
    lookups = [
        None if i in bad or not mode else item_lookup(item, mode, field_name)
        for i, item in enumerate(items)
    ]
    ws.load([lookup for lookup in lookups if lookup], _emails(items))
    if workflow is not None:
        ws.load_entries(workflow)
    resource_id = int_param(payload, "resource_id")
    skip = bool(payload.get("skip_invalid_subscriptions"))
    results = []
    for i, (item, lookup) in enumerate(zip(items, lookups, strict=True)):
        if i in bad:
            results.append({"error": 400, "error_text": _problem_text(bad[i]), "profile_id": ""})
            continue
        try:
            pid = ws.find_one(lookup, resource_id) if lookup else None
            if pid is None and (op.path == "profiles/update_batch" or mode == "profile_id"):
                raise ItemError(404, f"no profile matches this {mode} lookup")
            pid = ws.apply(pid, item, path=f"data[{i}]", skip_invalid=skip, seed=lookup)
        except ItemError as exc:
            results.append({"error": exc.code, "error_text": exc.text, "profile_id": ""})
            continue
        if workflow is not None:
            ws.enter(pid, workflow, payload.get("content") or {}, call.request_id)
        results.append(ok(profile_id=pid))
    ws.flush()
    return ok(result=results)
