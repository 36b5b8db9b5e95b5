"""The history: list, record detail, resend identical, customer timeline and exports."""

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from profiles_ui import audit, roles, services
from profiles_ui.connections import get_connection
from profiles_ui.history import overwrite, timeline
from profiles_ui.history.display import LIST_COLUMNS, record_context
from profiles_ui.history.exports import export_response
from profiles_ui.history.forms import (
    COUNT_CAP,
    HistoryFilterForm,
    ResendForm,
    SearchLookupForm,
    TimelineForm,
    visible_records,
)
from profiles_ui.http import HtmxHttpRequest
from profiles_ui.models import ChainCheck, Submission

PAGE_SIZE = 50


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
    matched = form.matching_rows(page.records)
    for record in page.records:
        record.matched_rows = matched.get(record.pk)
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
@roles.required(roles.VIEW_HISTORY)
def history(request: HtmxHttpRequest) -> HttpResponse:
    context = list_context(HistoryFilterForm(request.GET, user=request.user))
    if request.user.has_perm(roles.VIEW_CHAIN_CHECKS):
        context["chain_check"] = ChainCheck.objects.first()
    template = "profiles_ui/history/list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#table"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@roles.required(roles.LOOKUP_PROFILE)
def history_lookup(request: HtmxHttpRequest) -> HttpResponse:
    """The search box's "Look up in Altcraft": the profile page for what was typed."""
    form = SearchLookupForm(request.GET)
    if form.is_valid():
        url = f"{reverse('profile')}?{urlencode(form.profile_query())}"
    else:
        for errors in form.errors.values():
            messages.error(request, f"Look up in Altcraft: {' '.join(errors)}.")
        url = f"{reverse('history')}?{request.GET.urlencode()}"
    # From htmx (the search form is submitted by it), the browser itself must go there.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@never_cache  # personal data: not kept by browsers or proxies
@require_GET
@roles.required(roles.VIEW_HISTORY)
def history_record(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    # Another user's record is "not found" for a marketer: its existence is not theirs to know.
    record = get_object_or_404(visible_records(request.user), pk=pk)
    audit.log_view(record, request.user)
    context = record_context(record, visible_records(request.user))
    if parent := context["parent"]:
        # What this resend was sent over: newer than its parent, older than itself.
        visible = visible_records(request.user)
        context["overwrote"] = overwrite.newer_records(parent, visible, until=record.pk)
    if request.user.has_perm("profiles_ui.view_recordview"):
        context["record_views"] = record.views.all()[:100]
    return render(request, "profiles_ui/history/record.html", context)


@require_http_methods(["GET", "POST"])
@roles.required(roles.RESEND)
def history_resend(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(Submission, pk=pk)
    form = ResendForm(
        request.POST if request.method == "POST" else None,
        record=record,
        visible=visible_records(request.user),
    )
    token = request.POST.get("form_token") or str(uuid.uuid4())
    if request.method == "POST" and form.is_valid():
        reason, request_id = form.cleaned_data["reason"], services.request_id_from(token)
        try:
            sent = services.resend(record, user=request.user, reason=reason, request_id=request_id)
        except services.AlreadySent as earlier:
            messages.info(request, "This form was already sent; here is that record.")
            return redirect("history_record", pk=earlier.record.pk)
        except services.ResendRefused as exc:
            form.add_error(None, f"Not sent: {exc}.")
        else:
            messages.success(
                request, f"Sent again as record {sent.pk}: {sent.get_state_display()}."
            )
            return redirect("history_record", pk=sent.pk)
    context = {"record": record, "form": form, "form_token": token}
    context["connection"] = get_connection(record.connection)
    return render(request, "profiles_ui/history/resend.html", context)


@require_GET
@roles.required(roles.VIEW_HISTORY)
def history_timeline(request: HtmxHttpRequest) -> HttpResponse:
    form = TimelineForm(request.GET)
    context: dict = {"form": form, "timeline": None}
    if form.is_valid():
        data = form.cleaned_data
        found = timeline.page(
            visible_records(request.user), data["value"], before=data.get("before")
        )
        context["timeline"] = found
        if found.older:
            params = request.GET.copy()
            params["before"] = str(found.older)
            context["older_query"] = params.urlencode()
    return render(request, "profiles_ui/history/timeline.html", context)


def _export(request: HtmxHttpRequest, fmt: str) -> StreamingHttpResponse | HttpResponse:
    form = HistoryFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "profiles_ui/history/list.html", list_context(form), status=400)
    return export_response(form.filter(visible_records(request.user)), fmt)


@require_GET
@roles.required(roles.EXPORT)
def history_export_csv(request: HtmxHttpRequest) -> HttpResponse:
    return _export(request, "csv")


@require_GET
@roles.required(roles.EXPORT)
def history_export_jsonl(request: HtmxHttpRequest) -> HttpResponse:
    return _export(request, "jsonl")
