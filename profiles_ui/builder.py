"""The profile builder: one page, one view, several named actions (the clicked button's value).

Every action works as a plain form post and returns the whole page; with htmx the same
actions answer with just the fragment that changed.
"""

import uuid
from collections.abc import Callable

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import get_template
from django_htmx.http import retarget

from altcraft.channels import CHANNELS, PUSH_PROVIDERS
from altcraft.codec import PayloadError, decode, detect_format
from altcraft.error_codes import describe_error
from altcraft.operations import OPERATIONS
from profiles_ui import catalog, payloads, services
from profiles_ui.builder_forms import Builder
from profiles_ui.connections import SESSION_KEY, Connection, active_connection, get_connection
from profiles_ui.form_data import form_data
from profiles_ui.forms import SINGLE_OPERATIONS, TARGET, PasteForm
from profiles_ui.models import Submission
from profiles_ui.roles import RESEND, SUBMIT

PAGE = "profiles_ui/builder.html"
CLAIM_SECONDS = 3600
PAGE_CONTEXT = {
    "channels": [(name, channel.label) for name, channel in CHANNELS.items()],
    "option_flags": payloads.OPTION_FLAGS,
    "push_providers": PUSH_PROVIDERS,
}

# ModelBackend answers has_perm by loading every permission the user has, in two queries the
# ORM compiles afresh each time: about a quarter of the live preview's time, on every keystroke.
# Its rule for one permission (held directly or through a group) is one plain query.
HOLDS_PERMISSION_SQL = """
    SELECT 1 FROM auth_permission p
    JOIN django_content_type ct ON ct.id = p.content_type_id
    WHERE ct.app_label = %s AND p.codename = %s AND (
        p.id IN (SELECT permission_id FROM auth_user_user_permissions WHERE user_id = %s)
        OR p.id IN (
            SELECT gp.permission_id FROM auth_group_permissions gp
            JOIN auth_user_groups ug ON ug.group_id = gp.group_id
            WHERE ug.user_id = %s
        )
    )
"""


def may_submit(user) -> bool:
    """user.has_perm(SUBMIT), cheaply for the users the roles let in."""
    # Whoever the query misses is asked the usual way: superusers, other backends.
    return (user.is_active and _holds(user, SUBMIT)) or user.has_perm(SUBMIT)


def _holds(user, permission: str) -> bool:
    app_label, codename = permission.split(".")
    with connection.cursor() as cursor:
        cursor.execute(HOLDS_PERMISSION_SQL, [app_label, codename, user.pk, user.pk])
        return cursor.fetchone() is not None


def builder(request: HttpRequest) -> HttpResponse:
    if not may_submit(request.user):
        raise PermissionDenied
    parent = _parent(request)
    if request.method == "GET":
        if parent is not None:
            return _fill_from_body(request, parent.request_body.encode(), parent.format, parent)
        return _page(request, Builder(connection=active_connection(request.session)))
    action, _, argument = request.POST.get("action", "preview").partition(":")
    if request.htmx and request.htmx.target == "preview":
        # htmx sends the form's last clicked button with every request the form makes; the
        # live preview is told apart by where its answer goes.
        action = "preview"
    handler = ACTIONS.get(action, preview)
    return handler(request, _connection(request), parent, argument)


def _parent(request: HttpRequest) -> Submission | None:
    """The record being fixed (?from=<pk>), for users allowed to resend."""
    pk = request.GET.get("from")
    if not pk:
        return None
    if not request.user.has_perm(RESEND):
        raise PermissionDenied
    return get_object_or_404(Submission, pk=pk if pk.isdigit() else 0)


def _connection(request: HttpRequest) -> Connection:
    """The connection picked in the form; the session (and so the banner) follows it."""
    chosen = get_connection(request.POST.get(f"{TARGET}-connection", ""))
    if chosen is not None and chosen.name != request.session.get(SESSION_KEY):
        request.session[SESSION_KEY] = chosen.name
    return chosen or active_connection(request.session)


def _page(
    request: HttpRequest, form: Builder, *, show_errors: bool = False, **extra
) -> HttpResponse:
    token = request.POST.get("form_token") or str(uuid.uuid4())
    context = {**PAGE_CONTEXT, "b": form, "show_errors": show_errors, "form_token": token, **extra}
    if form.is_bound and "preview" not in extra:
        context["preview"] = _preview(form)
    return render(request, PAGE, context)


def _preview(form: Builder) -> dict:
    """What the preview panel shows: both encodings, or the problems instead."""
    if form.payload is None and not form.validate():
        return {"errors": form.errors_summary}
    if form.errors_summary:
        return {"errors": form.errors_summary}
    connection, op = form.connection, form.operation
    url = services.client_for(connection).url(op.path)
    bearer = connection.token_placement == "bearer"  # noqa: S105 - a placement
    fmt = form.options.cleaned_data.get("fmt") or "json"
    bodies = {f: services.request_body(form.payload, f, connection) for f in ("json", "xml")}
    return {
        "url": url,
        "fmt": fmt,
        "json": bodies["json"].decode(),
        "xml": bodies["xml"].decode(),
        "curl": payloads.curl_command(url, bodies[fmt], fmt, bearer=bearer),
        "python": payloads.python_snippet(url, bodies[fmt], fmt, bearer=bearer),
    }


def preview(request: HttpRequest, connection: Connection, parent, _: str) -> HttpResponse:
    form = Builder(request.POST, request.FILES, connection=connection, parent=parent)
    form.validate()
    if request.htmx and request.htmx.target == "preview":
        # Rendered without the context processors: the fragment needs none of their queries.
        fragment = get_template(f"{PAGE}#preview").render({"preview": _preview(form)})
        return HttpResponse(fragment)
    return _page(request, form, show_errors=True)


def refresh(request: HttpRequest, connection: Connection, parent, argument: str) -> HttpResponse:
    """Operation, connection or database changed, or the reference data should be reloaded."""
    if argument == "catalog":
        catalog.refresh(connection)
        messages.info(request, f"Reference data reloaded from {connection.label}.")
    return _page(
        request, Builder(request.POST, request.FILES, connection=connection, parent=parent)
    )


def add_row(request: HttpRequest, connection: Connection, parent, argument: str) -> HttpResponse:
    """Row N of a formset from the server; TOTAL_FORMS follows out of band."""
    kind, _, channel = argument.partition(":")
    form = Builder(request.POST, request.FILES, connection=connection, parent=parent)
    formset = {"sub": form.subs, "content": form.content, "attach": form.attach}.get(kind)
    if formset is None:
        return refresh(request, connection, parent, "")
    initial = {"channel": channel} if kind == "sub" else {}
    if request.htmx:
        row = form.new_row(formset, **initial)
        context = {"b": form, "row": row, "kind": kind, "total": formset.total_form_count() + 1}
        return render(request, f"{PAGE}#added_row", context)
    data = request.POST.copy()
    index = formset.total_form_count()
    data[f"{formset.prefix}-TOTAL_FORMS"] = str(index + 1)
    for key, value in initial.items():
        data[f"{formset.prefix}-{index}-{key}"] = value
    return _page(request, Builder(data, request.FILES, connection=connection, parent=parent))


def rerender(request: HttpRequest, connection: Connection, parent, argument: str) -> HttpResponse:
    """A subscription row (its channel or resource changed) or the matching fieldset."""
    form = Builder(request.POST, request.FILES, connection=connection, parent=parent)
    if not request.htmx:
        return _page(request, form)
    if argument == "matching" and form.matching is not None:
        return render(request, f"{PAGE}#matching", {"b": form})
    row = next((sub for sub in form.subs.forms if sub.prefix == argument), None)
    if row is None:
        return retarget(_page(request, form), "body")
    return render(request, f"{PAGE}#sub_row", {"b": form, "sub": row})


def paste(request: HttpRequest, connection: Connection, parent, _: str) -> HttpResponse:
    pasted = PasteForm(request.POST, request.FILES, prefix="paste")
    if not pasted.is_valid():
        form = Builder(connection=connection, parent=parent)
        return _page(request, form, paste_form=pasted)
    body, content_type = pasted.cleaned_data["bytes"], pasted.cleaned_data["content_type"]
    try:
        fmt = detect_format(body, content_type)
    except PayloadError as exc:
        pasted.add_error("body", str(exc))
        return _page(request, Builder(connection=connection, parent=parent), paste_form=pasted)
    return _fill_from_body(request, body, fmt, parent, pasted=pasted)


def _fill_from_body(
    request: HttpRequest,
    body: bytes,
    fmt: str,
    parent: Submission | None,
    *,
    pasted: PasteForm | None = None,
) -> HttpResponse:
    """The paste path: decode, turn into form data, bind and validate, problems on fields."""
    connection = active_connection(request.session)
    pasted = pasted or PasteForm(prefix="paste")
    operation = parent.operation if parent else request.POST.get("paste-operation", "")
    try:
        data, notes = _payload_form_data(body, fmt, operation, connection)
    except PayloadError as exc:
        pasted.add_error(None, f"The payload could not be read: {exc}")
        return _page(request, Builder(connection=connection, parent=parent), paste_form=pasted)
    for note in notes:
        messages.warning(request, note)
    form = Builder(as_query_dict(data), connection=connection, parent=parent)
    form.validate()
    return _page(request, form, show_errors=True, paste_form=pasted)


def _payload_form_data(body: bytes, fmt: str, operation: str, connection: Connection):
    payload = decode(body, fmt, operation=operation or None)
    op = SINGLE_OPERATIONS.get(operation) or _guess_operation(payload, operation)
    db_id = payload.get("db_id") if isinstance(payload.get("db_id"), int) else None
    fields = catalog.database_fields(connection, db_id)
    types = {f.name: f.type for f in fields.items} if db_id and not fields.error else None
    if fmt == "xml" and types:
        payload = decode(body, fmt, operation=op.path, custom_field_types=types)

    def sub_fields(resource_id: object, channel: str) -> set[str]:
        rid = resource_id if isinstance(resource_id, int) else None
        return {f.name for f in catalog.resource_fields(connection, rid, channel).items}

    return form_data(
        payload,
        op,
        connection=connection.name,
        custom_fields=set(types) if types is not None else None,
        sub_fields=sub_fields,
    )


def _guess_operation(payload: dict, operation: str):
    if operation in OPERATIONS:
        raise PayloadError(f"{operation} is a batch operation: batches live on the Bulk page")
    if isinstance(payload.get("data"), list):
        raise PayloadError("this payload holds a list of profiles: batches live on the Bulk page")
    if "workflow_id" in payload or "content" in payload or "attach" in payload:
        return SINGLE_OPERATIONS["workflows/import_and_start"]
    if payload.get("matching") == "profile_id":
        return SINGLE_OPERATIONS["profiles/update"]
    return SINGLE_OPERATIONS["profiles/import"]


def send(request: HttpRequest, connection: Connection, parent, argument: str) -> HttpResponse:
    form = Builder(request.POST, request.FILES, connection=connection, parent=parent)
    valid = form.validate()
    reason = form.resend.cleaned_data.get("reason", "") if form.resend else ""
    if form.resend is not None and not reason:
        form.resend.add_error("reason", "Say why this record is being fixed and sent again.")
        form.errors_summary = form._summary()
        valid = False
    if not valid:
        return _page(request, form, show_errors=True)
    if connection.production and argument != "confirmed":
        return render(request, "profiles_ui/builder_confirm.html", _confirmation(request, form))
    record, repeated = _send_once(request, form, reason)
    if repeated:
        messages.info(request, "This form was already sent; here is what happened then.")
    return _result_page(request, form, record)


def _send_once(request: HttpRequest, form: Builder, reason: str) -> tuple[Submission, bool]:
    """One submission per form token: the token is the record's Request-ID (unique)."""
    try:
        token = uuid.UUID(request.POST.get("form_token", ""))
    except ValueError:
        token = uuid.uuid4()
    earlier = Submission.objects.filter(request_id=token).first()
    if earlier is not None or not cache.add(f"builder-send:{token}", 1, CLAIM_SECONDS):
        return earlier or _wait_for(token), True
    try:
        record = services.submit(
            user=request.user,
            connection=form.connection,
            operation=form.operation.path,
            payload=form.payload or {},
            fmt=form.options.cleaned_data.get("fmt") or "json",
            parent=form.parent,
            reason=reason,
            request_id=token,
        )
    except IntegrityError:
        return _wait_for(token), True
    return record, False


def _wait_for(token: uuid.UUID) -> Submission:
    """The record a concurrent post with the same token is writing."""
    import time

    for _ in range(50):
        record = Submission.objects.filter(request_id=token).first()
        if record is not None:
            return record
        time.sleep(0.1)
    raise PermissionDenied("This form is being sent by another request.")


def _result_page(request: HttpRequest, form: Builder, record: Submission) -> HttpResponse:
    # A fresh token: fixing and sending again is a new submission.
    request.POST = request.POST.copy()
    request.POST["form_token"] = str(uuid.uuid4())
    meaning = describe_error(record.error) if record.error not in (None, 0) else ""
    return _page(request, form, record=record, error_meaning=meaning, preview=_preview(form))


def _confirmation(request: HttpRequest, form: Builder) -> dict:
    carry = request.POST.copy()
    for key in ("action", "csrfmiddlewaretoken"):
        carry.pop(key, None)
    for row in form.attach.forms if form.attach else []:
        for key in ("data", "name", "mimetype"):
            carry[row.add_prefix(key)] = row.cleaned_data.get(key, "")
    database = next((d for d in form.databases.items if d.id == form.db_id), None)
    workflow_id = form.target.cleaned_data.get("workflow_id")
    scenario = next((w for w in form.workflows.items if w.id == workflow_id), None)
    summary = payloads.summary(
        form.operation,
        form.payload or {},
        connection_label=form.connection.label,
        production=form.connection.production,
        database=f"{database.name} (#{database.id})" if database else f"#{form.db_id}",
        scenario=f"{scenario.name} (#{scenario.id})" if scenario else f"#{workflow_id}",
    )
    fmt = form.options.cleaned_data.get("fmt") or "json"
    body = services.request_body(form.payload or {}, fmt, form.connection).decode()
    return {"b": form, "summary": summary, "carry": list(carry.lists()), "body": body}


def edit(request: HttpRequest, connection: Connection, parent, _: str) -> HttpResponse:
    """Back from the confirmation step, with everything as it was."""
    return _page(request, Builder(request.POST, connection=connection, parent=parent))


ACTIONS: dict[str, Callable[..., HttpResponse]] = {
    "preview": preview,
    "refresh": refresh,
    "add": add_row,
    "row": rerender,
    "paste": paste,
    "send": send,
    "edit": edit,
}


def as_query_dict(data: dict[str, str]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query[key] = value
    return query
