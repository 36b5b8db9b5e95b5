"""The history: list, record detail, resend identical, customer timeline and exports."""

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

from defusedxml import minidom
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.middleware import HtmxDetails

from altcraft import codec
from altcraft.error_codes import describe_error
from profiles_ui import roles, services
from profiles_ui.connections import get_connection
from profiles_ui.exports import configured_tokens, export_response, redact
from profiles_ui.history_forms import (
    COUNT_CAP,
    HistoryFilterForm,
    ResendForm,
    TimelineForm,
    visible_records,
)
from profiles_ui.models import RecordView, Submission

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 200
# Only what the table shows: the bodies can be large and are read on the detail page only.
LIST_COLUMNS = (
    "id", "created_at", "username", "role", "connection", "connection_production", "operation",
    "format", "state", "error", "email", "phone", "profile_id", "profile_count", "duration_ms",
    "parent_id",
)  # fmt: skip


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@dataclass
class Page:
    records: list[Submission]
    newer: int | None  # cursor for the "Newer" link, or None on the newest page
    older: int | None


def keyset_page(records: QuerySet[Submission], *, before: int | None, after: int | None) -> Page:
    """Newest first, PAGE_SIZE at a time, by id: as fast on page 20,000 as on page 1."""
    records = records.only(*LIST_COLUMNS)
    if after:
        rows = list(records.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        newer = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
        rows = rows[:PAGE_SIZE][::-1]
        # Records are never deleted, so the row we came from is still there: older exists.
        return Page(rows, newer=newer, older=rows[-1].id if rows else None)
    if before:
        records = records.filter(id__lt=before)
    rows = list(records.order_by("-id")[: PAGE_SIZE + 1])
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    return Page(rows, newer=rows[0].id if before and rows else None, older=older)


def capped_count(records: QuerySet[Submission]) -> tuple[int, bool]:
    """(count, capped): exact up to COUNT_CAP, so counting never scans millions of rows."""
    count = records.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def list_context(form: HistoryFilterForm) -> dict:
    if not form.is_valid():
        return {"form": form, "page": None}
    records = form.filter(visible_records(form.user))
    data = form.cleaned_data
    page = keyset_page(records, before=data.get("before"), after=data.get("after"))
    count, capped = capped_count(records)
    return {
        "form": form,
        "page": page,
        "count": count,
        "capped": capped,
        "count_label": f"{count:,}+" if capped else f"{count:,}",
        "newer_query": form.query_string(after=page.newer) if page.newer else "",
        "older_query": form.query_string(before=page.older) if page.older else "",
        "export_query": form.query_string(),
    }


@require_GET
@permission_required(roles.VIEW_HISTORY, raise_exception=True)
def history(request: HtmxHttpRequest) -> HttpResponse:
    context = list_context(HistoryFilterForm(request.GET, user=request.user))
    template = "profiles_ui/history.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#table"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@permission_required(roles.VIEW_HISTORY, raise_exception=True)
def history_record(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's record is "not found" for a marketer: its existence is not theirs to know.
    record = get_object_or_404(visible_records(request.user), pk=pk)
    RecordView.objects.create(
        submission=record, user=request.user, username=request.user.get_username()
    )
    context = record_context(record, visible_records(request.user))
    if request.user.has_perm("profiles_ui.view_recordview"):
        context["record_views"] = record.views.all()[:100]
    return render(request, "profiles_ui/history_record.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(roles.RESEND, raise_exception=True)
def history_resend(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(Submission, pk=pk)
    form = ResendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["form_token"] or uuid.uuid4()
        if earlier := Submission.objects.filter(request_id=token).first():
            messages.info(request, "This form was already sent; here is that record.")
            return redirect("history_record", pk=earlier.pk)
        sent, refusal = resend_identical(
            record, request.user, form.cleaned_data["reason"], request_id=token
        )
        if sent is not None:
            messages.success(
                request, f"Sent again as record {sent.pk}: {sent.get_state_display()}."
            )
            return redirect("history_record", pk=sent.pk)
        form.add_error(None, f"Not sent: {refusal}.")
    connection = get_connection(record.connection)
    context = {"record": record, "form": form, "connection": connection}
    return render(request, "profiles_ui/history_resend.html", context)


def resend_identical(
    record: Submission, user: AbstractBaseUser, reason: str, request_id: uuid.UUID
) -> tuple[Submission | None, str]:
    """(new record, "") once sent, or (None, why not)."""
    if not record.is_final:
        return None, "this record is still pending; wait for its answer first"
    try:
        return services.resend(record, user=user, reason=reason, request_id=request_id), ""
    except services.ResendRefused as exc:
        return None, str(exc)
    except IntegrityError:
        # The same form, posted twice at once: the other post recorded and sent it.
        return Submission.objects.get(request_id=request_id), ""


@require_GET
@permission_required(roles.VIEW_HISTORY, raise_exception=True)
def history_timeline(request: HttpRequest) -> HttpResponse:
    form = TimelineForm(request.GET)
    context: dict = {"form": form, "records": None}
    if form.is_valid():
        records = form.filter(visible_records(request.user)).only(*LIST_COLUMNS)
        if after := form.cleaned_data.get("after"):
            records = records.filter(id__gt=after)
        rows = list(records.order_by("id")[: TIMELINE_PAGE_SIZE + 1])
        context["records"] = rows[:TIMELINE_PAGE_SIZE]
        if len(rows) > TIMELINE_PAGE_SIZE:
            params = request.GET.copy()
            params["after"] = str(rows[TIMELINE_PAGE_SIZE - 1].id)
            context["later_query"] = params.urlencode()
    return render(request, "profiles_ui/history_timeline.html", context)


def _export(request: HttpRequest, fmt: str) -> StreamingHttpResponse | HttpResponse:
    form = HistoryFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "profiles_ui/history.html", list_context(form), status=400)
    return export_response(form.filter(visible_records(request.user)), fmt)


@require_GET
@permission_required(roles.EXPORT, raise_exception=True)
def history_export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@require_GET
@permission_required(roles.EXPORT, raise_exception=True)
def history_export_jsonl(request: HttpRequest) -> HttpResponse:
    return _export(request, "jsonl")


# --- The record detail: pretty bodies, error meaning, lineage and the diff with the parent ---


def record_context(record: Submission, visible: QuerySet[Submission]) -> dict:
    tokens = configured_tokens()
    request_body = redact(record.request_body, tokens)
    response_body = redact(record.response_body, tokens)
    parent = visible.filter(pk=record.parent_id).first() if record.parent_id else None
    response_format = sniff(response_body) or record.format
    return {
        "record": record,
        "request": Body(request_body, record.format),
        "response": Body(response_body, response_format),
        "error_meaning": error_meaning(record.error),
        "results": [{**r, "meaning": error_meaning(r.get("error"))} for r in batch_results(record)],
        "lineage": lineage(record, visible),
        "parent": parent,
        "changes": body_diff(parent, record) if parent else None,
    }


def batch_results(record: Submission) -> list[dict]:
    results = record.results if isinstance(record.results, list) else []
    return [r for r in results if isinstance(r, dict)]


def error_meaning(code: Any) -> str:
    if code is None:
        return ""
    return describe_error(code)


class Body:
    """A stored body, indented for reading and highlighted for the eye."""

    def __init__(self, text: str, fmt: str) -> None:
        self.raw = text
        self.format = fmt
        self.pretty = pretty(text, fmt)

    @property
    def html(self) -> SafeString:
        return highlight(self.pretty, self.format)


def sniff(body: str) -> str:
    start = body.lstrip()[:1]
    return "xml" if start == "<" else "json" if start in ("{", "[") else ""


def pretty(body: str, fmt: str) -> str:
    """Indented text; the body as stored if it does not parse (it is evidence, not input)."""
    try:
        if fmt == "json":
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        if fmt == "xml":
            text = minidom.parseString(body.encode()).toprettyxml(indent="  ")
            return "\n".join(line for line in text.splitlines()[1:] if line.strip())
    except (ValueError, ExpatError):
        pass
    return body


JSON_TOKENS = re.compile(
    r'(?P<string>"(?:\\.|[^"\\])*")(?P<key>\s*:)?'
    r"|(?P<literal>\b(?:true|false|null)\b)"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
)
XML_TOKENS = re.compile(r"(?P<tag><[^>]*>)")


def highlight(text: str, fmt: str) -> SafeString:
    """Wrap tokens in classed spans (CSS colours them); everything else is escaped."""
    pattern = JSON_TOKENS if fmt == "json" else XML_TOKENS if fmt == "xml" else None
    if pattern is None:
        return escape(text)
    out, position = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[position : match.start()]))
        kind = match.lastgroup if match.lastgroup != "key" else "key"
        if kind == "key":
            out.append(f'<span class="tok-key">{escape(match["string"])}</span>{match["key"]}')
        else:
            out.append(f'<span class="tok-{kind}">{escape(match.group())}</span>')
        position = match.end()
    out.append(escape(text[position:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above is escaped


def decode(body: str, fmt: str, operation: str) -> dict | None:
    """The request body as data (XML typed by the contract), or None if it does not parse."""
    try:
        return codec.decode(body.encode(), fmt, operation=operation)
    except (codec.PayloadError, KeyError):  # KeyError: an operation the contract lacks
        return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"data": {"phones": ["1"]}} -> {"data.phones.0": "1"}; empty containers are kept."""
    if isinstance(value, dict | list) and value:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        flat: dict[str, Any] = {}
        for key, item in items:
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value} if prefix else {}


@dataclass
class Change:
    path: str
    kind: str  # added, removed or changed
    old: str = ""
    new: str = ""


def body_diff(parent: Submission, record: Submission) -> list[Change] | None:
    """Field by field, from the parent's body to this one's; None if either cannot be read."""
    old = decode(parent.request_body, parent.format, parent.operation)
    new = decode(record.request_body, record.format, record.operation)
    if old is None or new is None or not (parent.request_body and record.request_body):
        return None
    before, after = flatten(old), flatten(new)
    changes = []
    for path in sorted(before.keys() | after.keys()):
        if path == "token":
            continue
        if path not in before:
            changes.append(Change(path, "added", new=_shown(after[path])))
        elif path not in after:
            changes.append(Change(path, "removed", old=_shown(before[path])))
        elif before[path] != after[path]:
            changes.append(Change(path, "changed", _shown(before[path]), _shown(after[path])))
    return changes


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def lineage(record: Submission, visible: QuerySet[Submission]) -> list[tuple[Submission, int]]:
    """The chain from the first record down to this one, then everything sent from it, as
    (record, depth) in reading order. Chains are short; the caps only guard against abuse."""
    visible = visible.only(*LIST_COLUMNS, "reason")
    ancestors: list[Submission] = []
    current: Submission | None = record
    while current is not None and current.parent_id and len(ancestors) < 50:
        current = visible.filter(pk=current.parent_id).first()
        if current is not None:
            ancestors.append(current)
    chain = [(ancestor, depth) for depth, ancestor in enumerate(reversed(ancestors))]
    chain.append((record, len(ancestors)))
    children: dict[int, list[Submission]] = {}
    level = [record.pk]
    for _ in range(20):
        found = list(visible.filter(parent_id__in=level).order_by("id")[:500])
        for child in found:
            children.setdefault(child.parent_id, []).append(child)
        level = [child.pk for child in found]
        if not level:
            break

    def walk(pk: int, depth: int) -> None:
        for child in children.get(pk, []):
            chain.append((child, depth))
            walk(child.pk, depth + 1)

    walk(record.pk, len(ancestors) + 1)
    return chain
