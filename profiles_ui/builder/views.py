"""The profile builder: one page, one view, several named actions (the clicked button's value).

Every action works as a plain form post and returns the whole page; with htmx the same
actions answer with just the fragment that changed.
"""

import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django_htmx.http import retarget

from altcraft.channels import CHANNELS, PUSH_PROVIDERS
from altcraft.codec import PayloadError, detect_format, encode_json
from altcraft.error_codes import describe_error
from altcraft.formats import int_or_none
from profiles_ui import catalog, roles, services
from profiles_ui.bodies import Body
from profiles_ui.builder import snippets
from profiles_ui.builder.forms import OPTIONS, SINGLE_OPERATIONS, TARGET, Builder
from profiles_ui.builder.paste import PasteForm, pasted_form_data
from profiles_ui.builder.payload import OPTION_FLAGS
from profiles_ui.connections import SESSION_KEY, Connection, active_connection, get_connection
from profiles_ui.http import HtmxHttpRequest
from profiles_ui.models import Submission
from profiles_ui.profile.changes import rebased
from profiles_ui.profile.edit import builder_prefill, live_read, read_again
from profiles_ui.profile.views import announce, profile_url
from profiles_ui.roles import RESEND, SUBMIT

PAGE = "profiles_ui/builder/builder.html"
PAGE_CONTEXT = {
    "channels": [(name, channel.label) for name, channel in CHANNELS.items()],
    "option_flags": OPTION_FLAGS,
    "push_providers": PUSH_PROVIDERS,
}


@roles.required(SUBMIT)
def builder(request: HtmxHttpRequest) -> HttpResponse:
    try:
        parent = _parent(request)
    except NotInTheBuilder as refused:
        messages.error(
            request,
            f"Record #{refused.record.pk} is a {refused.record.operation} request of many "
            "profiles: the builder holds one. Its rows are fixed and sent again on the Bulk page.",
        )
        return redirect("history_record", pk=refused.record.pk)
    if request.method == "GET":
        if parent is not None:
            return _fill_from_body(request, parent.request_body.encode(), parent.format, parent)
        # The live profile page's "Edit in the builder" (profiles_ui/profile/edit.py).
        if (live := builder_prefill(request)) is not None:
            return _fill_from_body(request, *live, None)
        return _page(
            request, Builder(connection=active_connection(request.session), user=request.user)
        )
    action, _, argument = request.POST.get("action", "preview").partition(":")
    if request.htmx and request.htmx.target == "preview":
        # htmx sends the form's last clicked button with every request the form makes; the
        # live preview is told apart by where its answer goes.
        action = "preview"
    handler = ACTIONS.get(action, preview)
    return handler(request, _connection(request), parent, argument)


def _parent(request: HtmxHttpRequest) -> Submission | None:
    """The record being fixed (?from=<pk>), for users allowed to resend."""
    pk = request.GET.get("from")
    if not pk:
        return None
    if not request.user.has_perm(RESEND):
        raise roles.refuse(RESEND)
    record = Submission.objects.filter(pk=int_or_none(pk) or 0).first()
    if record is None:
        raise Http404("No such record")
    if record.operation not in SINGLE_OPERATIONS:
        raise NotInTheBuilder(record)
    return record


class NotInTheBuilder(Exception):
    """The record to fix is a batch request: the builder holds one profile."""

    def __init__(self, record: Submission) -> None:
        super().__init__(record.operation)
        self.record = record


def _editing(request: HtmxHttpRequest) -> dict:
    """Who is editing (a fix is checked against the records they may see) and, from the
    live profile page's "Edit in the builder" (?live=<id>), the profile as they read it."""
    return {"user": request.user, "live": live_read(request)}


def _connection(request: HtmxHttpRequest) -> Connection:
    """The connection picked in the form; the session (and so the banner) follows it."""
    chosen = get_connection(request.POST.get(f"{TARGET}-connection", ""))
    if chosen is not None and chosen.name != request.session.get(SESSION_KEY):
        request.session[SESSION_KEY] = chosen.name
    return chosen or active_connection(request.session)


def _page(
    request: HtmxHttpRequest, form: Builder, *, show_errors: bool = False, **extra
) -> HttpResponse:
    token = request.POST.get("form_token") or str(uuid.uuid4())
    context = {**PAGE_CONTEXT, "b": form, "show_errors": show_errors, "form_token": token, **extra}
    if form.is_bound and "preview" not in extra:
        context["preview"] = _preview(form)
    return render(request, PAGE, context)


def _preview(form: Builder) -> dict:
    """What the preview panel shows: the payload as it stands, both encodings indented and
    exactly as sent, and the problems that keep it from being sent."""
    if form.payload is None:
        form.validate()
    preview: dict = {"errors": form.errors_summary, "live_changes": form.live_changes}
    connection, op = form.connection, form.operation
    try:
        bodies = {f: services.request_body(form.payload, f, connection) for f in ("json", "xml")}
    except PayloadError as exc:
        preview["unwritable"] = str(exc)
        return preview
    url = services.client_for(connection).url(op.path)
    bearer = connection.token_placement == "bearer"  # noqa: S105 - a placement
    sent = bodies[form.fmt]
    return {
        **preview,
        "url": url,
        "fmt": form.fmt,
        "json": bodies["json"].decode(),
        "formats": [
            (fmt, fmt.upper(), Body(body.decode(), fmt).html, body.decode())
            for fmt, body in bodies.items()
        ],
        "curl": snippets.curl_command(url, sent, form.fmt, bearer=bearer),
        "python": snippets.python_snippet(url, sent, form.fmt, bearer=bearer),
    }


def preview(request: HtmxHttpRequest, connection: Connection, parent, _: str) -> HttpResponse:
    form = Builder(
        request.POST, request.FILES, connection=connection, parent=parent, **_editing(request)
    )
    form.validate()
    if request.htmx and request.htmx.target == "preview":
        # Rendered without the context processors: the fragment needs none of their queries.
        # The phones' "will be sent as" notes beside the form follow out of band.
        context = {"preview": _preview(form), "b": form, "oob": True}
        fragment = get_template(f"{PAGE}#preview").render(context)
        return HttpResponse(fragment)
    return _page(request, form, show_errors=True)


def refresh(
    request: HtmxHttpRequest, connection: Connection, parent, argument: str
) -> HttpResponse:
    """Operation, connection or database changed, or the reference data should be reloaded."""
    if argument == "catalog":
        catalog.refresh(connection)
        messages.info(request, f"Reference data reloaded from {connection.label}.")
    return _page(
        request,
        Builder(
            request.POST, request.FILES, connection=connection, parent=parent, **_editing(request)
        ),
    )


def add_row(
    request: HtmxHttpRequest, connection: Connection, parent, argument: str
) -> HttpResponse:
    """Row N of a formset from the server; TOTAL_FORMS follows out of band."""
    kind, _, channel = argument.partition(":")
    form = Builder(
        request.POST, request.FILES, connection=connection, parent=parent, **_editing(request)
    )
    formset = {"sub": form.subs, "content": form.content, "attach": form.attach}.get(kind)
    if formset is None:
        return refresh(request, connection, parent, "")
    if formset.total_form_count() >= formset.max_num:
        limit = f"At most {formset.max_num} {formset.what} fit in one request."
        if request.htmx:
            return render(request, f"{PAGE}#row_limit", {"limit": limit})
        messages.error(request, limit)
        return _page(request, form)
    initial = {"channel": channel} if kind == "sub" else {}
    if request.htmx:
        row = form.new_row(formset, **initial)
        focus_first_field(row)
        context = {"b": form, "row": row, "kind": kind, "total": formset.total_form_count() + 1}
        return render(request, f"{PAGE}#added_row", context)
    data = request.POST.copy()
    index = formset.total_form_count()
    data[f"{formset.prefix}-TOTAL_FORMS"] = str(index + 1)
    for key, value in initial.items():
        data[f"{formset.prefix}-{index}-{key}"] = value
    form = Builder(data, request.FILES, connection=connection, parent=parent, **_editing(request))
    added = {"sub": form.subs, "content": form.content, "attach": form.attach}[kind]
    focus_first_field(added.forms[index])
    return _page(request, form)


def focus_first_field(row) -> None:
    """The added row's first field takes the focus (htmx honours autofocus in what it swaps
    in, and the browser on a whole page)."""
    first = next(name for name in row.fields if name != "DELETE")
    row.fields[first].widget.attrs["autofocus"] = True


def rerender(
    request: HtmxHttpRequest, connection: Connection, parent, argument: str
) -> HttpResponse:
    """A subscription row (its channel or resource changed) or the matching fieldset."""
    form = Builder(
        request.POST, request.FILES, connection=connection, parent=parent, **_editing(request)
    )
    if not request.htmx:
        return _page(request, form)
    if argument == "matching" and form.matching is not None:
        return render(request, f"{PAGE}#matching", {"b": form})
    row = next((sub for sub in form.subs.forms if sub.prefix == argument), None)
    if row is None:
        return retarget(_page(request, form), "body")
    return render(request, f"{PAGE}#sub_row", {"b": form, "sub": row})


def paste(request: HtmxHttpRequest, connection: Connection, parent, _: str) -> HttpResponse:
    pasted = PasteForm(request.POST, request.FILES, prefix="paste")
    if not pasted.is_valid():
        form = Builder(connection=connection, parent=parent, **_editing(request))
        return _page(request, form, paste_form=pasted)
    body, content_type = pasted.cleaned_data["bytes"], pasted.cleaned_data["content_type"]
    try:
        fmt = detect_format(body, content_type)
    except PayloadError as exc:
        pasted.add_error("body", str(exc))
        return _page(
            request,
            Builder(connection=connection, parent=parent, **_editing(request)),
            paste_form=pasted,
        )
    return _fill_from_body(request, body, fmt, parent, pasted=pasted)


def _fill_from_body(
    request: HtmxHttpRequest,
    body: bytes,
    fmt: str,
    parent: Submission | None,
    *,
    pasted: PasteForm | None = None,
) -> HttpResponse:
    """The paste path: decode, turn into form data, bind and validate, problems on fields."""
    connection = active_connection(request.session)
    operation = parent.operation if parent else request.POST.get("paste-operation", "")
    try:
        data, notes = pasted_form_data(body, fmt, operation, connection)
    except PayloadError as exc:
        if pasted is None:  # a recorded body
            messages.error(request, f"The record's request could not be read: {exc}")
        else:
            pasted.add_error(None, f"The payload could not be read: {exc}")
        return _page(
            request,
            Builder(connection=connection, parent=parent, **_editing(request)),
            paste_form=pasted,
        )
    # The form now holds the payload; the paste box starts empty again (a pasted token,
    # for one, is not shown back).
    pasted = PasteForm(prefix="paste")
    for note in notes:
        messages.warning(request, note)
    form = Builder(data, connection=connection, parent=parent, **_editing(request))
    form.validate()
    return _page(request, form, show_errors=True, paste_form=pasted)


def send(request: HtmxHttpRequest, connection: Connection, parent, argument: str) -> HttpResponse:
    form = Builder(
        request.POST, request.FILES, connection=connection, parent=parent, **_editing(request)
    )
    if not form.validate(sending=True):
        return _page(request, form, show_errors=True)
    if form.live_edit and (refused := _changed_meanwhile(request, form, parent)) is not None:
        return refused
    if connection.production and argument != "confirmed":
        return render(request, "profiles_ui/builder/confirm.html", _confirmation(request, form))
    try:
        record = services.submit(
            user=request.user,
            connection=form.connection,
            operation=form.operation.path,
            payload=form.payload or {},
            fmt=form.fmt,
            parent=form.parent,
            reason=form.reason,
            request_id=services.request_id_from(request.POST.get("form_token", "")),
        )
    except services.AlreadySent as sent:
        messages.info(request, "This form was already sent; here is what happened then.")
        record = sent.record
    if form.live_edit and record.state == Submission.State.SUCCEEDED:
        # The profile page reads the profile again and shows it as it is now.
        announce(request, "Update the profile", record)
        profile_id = str(form.payload["profile_id"])
        return redirect(profile_url(connection.name, form.db_id or 0, profile_id=profile_id))
    return _result_page(request, form, record)


def _changed_meanwhile(request: HtmxHttpRequest, form: Builder, parent) -> HttpResponse | None:
    """A live edit reads the profile again before it is sent: if it cannot be read, or it
    changed since it was read, nothing is sent and the page says so (with its new state)."""
    reread = read_again(
        request, form.connection, form.db_id or 0, str((form.payload or {})["profile_id"]),
        request.POST.get("live_digest", ""),
    )  # fmt: skip
    if not reread.reading.found:
        messages.error(request, f"The profile could not be read again: {reread.reading.error_text}")
        return _page(request, form, show_errors=True)
    if not reread.stale:
        return None
    # The form now holds the profile as it is, with the edits on top, and the preview
    # compares against it.
    live = reread.reading.profile
    body = encode_json(rebased(form.payload or {}, live))
    data, _ = pasted_form_data(body, "json", form.operation.path, form.connection)
    data[f"{OPTIONS}-fmt"] = form.fmt
    form = Builder(data, connection=form.connection, parent=parent, user=request.user, live=live)
    form.validate()
    return _page(request, form, show_errors=True, stale=reread)


def _result_page(request: HtmxHttpRequest, form: Builder, record: Submission) -> HttpResponse:
    # A fresh token: fixing and sending again is a new submission.
    request.POST = request.POST.copy()
    request.POST["form_token"] = str(uuid.uuid4())
    meaning = describe_error(record.error) if record.error not in (None, 0) else ""
    return _page(request, form, record=record, error_meaning=meaning, preview=_preview(form))


def _confirmation(request: HtmxHttpRequest, form: Builder) -> dict:
    carry = request.POST.copy()
    for key in ("action", "csrfmiddlewaretoken"):
        carry.pop(key, None)
    for row in form.attach.forms if form.attach else []:
        for key in ("data", "name", "mimetype"):
            carry[row.add_prefix(key)] = row.cleaned_data.get(key, "")
    database = next((d for d in form.databases.items if d.id == form.db_id), None)
    workflow_id = form.target.cleaned_data.get("workflow_id")
    scenario = next((w for w in form.workflows.items if w.id == workflow_id), None)
    summary = snippets.summary(
        form.operation,
        form.payload or {},
        connection_label=form.connection.label,
        production=form.connection.production,
        database=f"{database.name} (#{database.id})" if database else f"#{form.db_id}",
        scenario=f"{scenario.name} (#{scenario.id})" if scenario else f"#{workflow_id}",
    )
    body = services.request_body(form.payload or {}, form.fmt, form.connection).decode()
    return {"b": form, "summary": summary, "carry": list(carry.lists()), "body": body}


def edit(request: HtmxHttpRequest, connection: Connection, parent, _: str) -> HttpResponse:
    """Back from the confirmation step, with everything as it was."""
    return _page(
        request, Builder(request.POST, connection=connection, parent=parent, **_editing(request))
    )


ACTIONS: dict[str, Callable[..., HttpResponse]] = {
    "preview": preview,
    "refresh": refresh,
    "add": add_row,
    "row": rerender,
    "paste": paste,
    "send": send,
    "edit": edit,
}
