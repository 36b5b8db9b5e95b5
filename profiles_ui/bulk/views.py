"""Bulk import pages: upload, map, check, send, watch, report, retry.

Every page needs `submit_profile`. A batch is seen by the user who made it, and by users who
may see everyone's history (support re-runs marketers' failures).
"""

import itertools
from pathlib import Path

from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from altcraft.formats import DEFAULT_PHONE_REGION, int_or_none
from profiles_ui import catalog, roles
from profiles_ui.bulk import check, files, mapping, outcomes, report, send, tasks
from profiles_ui.bulk.forms import MappingForm, UploadForm
from profiles_ui.connections import Connection, active_connection, get_connection
from profiles_ui.http import HtmxHttpRequest
from profiles_ui.models import Batch, BatchChunk, SavedMapping


def visible_batch(request: HtmxHttpRequest, pk: int) -> Batch:
    batch = get_object_or_404(Batch, pk=pk)
    if batch.user_id != request.user.pk and not request.user.has_perm(roles.VIEW_ALL_HISTORY):
        raise Http404("No such batch")
    return batch


def visible_mappings(request: HtmxHttpRequest) -> QuerySet[SavedMapping]:
    """Saved mappings are their owner's, and seen by users who may see everyone's history."""
    mappings = SavedMapping.objects.all()
    if not request.user.has_perm(roles.VIEW_ALL_HISTORY):
        mappings = mappings.filter(created_by=request.user.get_username())
    return mappings


def database_name(batch: Batch, connection: Connection) -> str:
    """The batch's database as "Name (id)", or its id when the catalog cannot say."""
    if batch.db_id is None:
        return ""
    found = next((d for d in catalog.databases(connection).items if d.id == batch.db_id), None)
    return f"{found.name} ({found.id})" if found else str(batch.db_id)


@roles.required(roles.SUBMIT)
@require_http_methods(["GET", "POST"])
def bulk_upload(request: HtmxHttpRequest) -> HttpResponse:
    connection = get_connection(request.POST.get("connection", "")) or active_connection(
        request.session
    )
    form = UploadForm(request.POST or None, request.FILES or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            batch = files.start(form.cleaned_data["file"], user=request.user, connection=connection)
        except files.UnreadableFile as exc:
            form.add_error("file", f"This file cannot be read: {exc}.")
        else:
            Batch.objects.filter(pk=batch.pk).update(
                **{k: form.cleaned_data.get(k) for k in ("operation", "db_id", "workflow_id")},
                workflow_name=form.cleaned_data.get("workflow_name", ""),
            )
            return redirect("bulk_mapping", pk=batch.pk)
    recent = Batch.objects.all()
    if not request.user.has_perm(roles.VIEW_ALL_HISTORY):
        recent = recent.filter(user=request.user)
    context = {"form": form, "recent": recent[:20]}
    return render(request, "profiles_ui/bulk/upload.html", context)


@roles.required(roles.SUBMIT)
@require_http_methods(["GET", "POST"])
def bulk_mapping(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = visible_batch(request, pk)
    if batch.state == Batch.State.CHECKING:
        return redirect("bulk_preview", pk=batch.pk)
    if batch.state not in (Batch.State.DRAFT, Batch.State.CHECKED):
        return redirect("bulk_progress", pk=batch.pk)
    connection = get_connection(batch.connection) or active_connection(request.session)
    custom = catalog.database_fields(connection, batch.db_id)
    resources = catalog.resources(connection)
    mappings = visible_mappings(request)
    saved = None
    if "saved" in request.GET:
        saved = mappings.filter(pk=int_or_none(request.GET["saved"])).first()
        if saved is None:
            messages.error(request, "Saved mapping: there is no such mapping; choose one listed.")
    form = MappingForm(
        request.POST or None,
        batch=batch,
        custom=custom.items,
        resources=resources.items,
        saved=saved,
        samples=files.column_samples(Path(batch.file.path), files.file_info(batch)),
        default_region=getattr(connection, "phone_region", None) or DEFAULT_PHONE_REGION,
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                mapping.apply_options(batch, form.cleaned_data, custom.items, request.user)
                tasks.queue_check(batch)
        except check.BatchError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("bulk_preview", pk=batch.pk)
    context = {
        "batch": batch,
        "form": form,
        "saved_mappings": mappings,
        "database_name": database_name(batch, connection),
        "lookup_errors": [e for e in (custom.error, resources.error) if e],
        "check_error": batch.error if batch.state == Batch.State.DRAFT else "",
    }
    return render(request, "profiles_ui/bulk/mapping.html", context)


@roles.required(roles.SUBMIT)
@require_http_methods(["GET", "POST"])
def bulk_preview(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = visible_batch(request, pk)
    if batch.state == Batch.State.CHECKING:
        template = "profiles_ui/bulk/checking.html"
        return render(
            request, template + "#checking" if request.htmx else template, {"batch": batch}
        )
    if request.htmx and request.method == "GET":
        # The check ended (or failed) while its page was polling: load the page it leads to.
        return HttpResponseClientRefresh()
    if batch.state != Batch.State.CHECKED:
        return redirect(
            "bulk_progress" if batch.state != Batch.State.DRAFT else "bulk_mapping", pk=pk
        )
    needs_confirmation = batch.connection_production or bool(batch.workflow_id)
    error = ""
    if request.method == "POST":
        if not batch.valid_rows:
            error = "There is no valid row to send."
        elif needs_confirmation and request.POST.get("confirm") != "yes":
            error = "Tick the box to confirm what this batch will do."
        else:
            with transaction.atomic():
                tasks.queue_send(batch)
            return redirect("bulk_progress", pk=pk)
    context = {"batch": batch, "needs_confirmation": needs_confirmation, "error": error}
    context["chunks"] = batch.chunks.count()
    connection = get_connection(batch.connection)
    context["database_name"] = database_name(batch, connection) if connection else batch.db_id
    context["why_nothing_to_send"] = report.why_no_valid_row(batch)
    context["conversions"] = batch.conversion_sample
    return render(request, "profiles_ui/bulk/preview.html", context, status=400 if error else 200)


@roles.required(roles.SUBMIT)
@require_POST
def bulk_stop_check(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Back to the mapping, which says who stopped the check and that nothing was sent."""
    batch = visible_batch(request, pk)
    if not check.stop_check(batch, user=request.user):
        return redirect("bulk_preview", pk=pk)  # it ended meanwhile: show how
    return redirect("bulk_mapping", pk=pk)


@never_cache  # personal data: not kept by browsers or proxies
@roles.required(roles.SUBMIT)
def bulk_invalid_rows(request: HtmxHttpRequest, pk: int) -> FileResponse:
    batch = visible_batch(request, pk)
    if not batch.invalid_file:
        raise Http404("This batch has not been checked")
    name = f"batch-{batch.pk}-invalid-rows.csv"
    return FileResponse(batch.invalid_file.open("rb"), as_attachment=True, filename=name)


@roles.required(roles.SUBMIT)
def bulk_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = visible_batch(request, pk)
    context = {"batch": batch, "progress": report.progress(batch)}
    if batch.state in Batch.FINAL_STATES and context["progress"].failed:
        context["steps"] = outcomes.next_steps(batch)
    template = "profiles_ui/bulk/progress.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, context)


@roles.required(roles.SUBMIT)
@require_POST
def bulk_cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = visible_batch(request, pk)
    send.cancel(batch)
    messages.info(request, "Cancelling: chunks already sent stay sent; no further chunk goes out.")
    return redirect("bulk_progress", pk=pk)


@never_cache  # personal data: not kept by browsers or proxies
@roles.required(roles.SUBMIT)
def bulk_report(request: HtmxHttpRequest, pk: int) -> StreamingHttpResponse:
    batch = visible_batch(request, pk)
    rows = itertools.chain([report.REPORT_HEADER], report.report_rows(batch))
    response = StreamingHttpResponse(
        report.csv_lines(rows, report.delimiter_of(batch)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-report.csv"'
    return response


@roles.required(roles.SUBMIT)
@require_POST
def bulk_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    batch = visible_batch(request, pk)
    unanswered = report.progress(batch).unanswered
    if unanswered and request.POST.get("confirm_unanswered") != "yes":
        messages.error(
            request,
            f"Retry: {unanswered} of the failed rows may already have been applied; tick "
            "“Retry them anyway” to send them again.",
        )
        return redirect("bulk_progress", pk=pk)
    try:
        retry_batch = tasks.retry(batch, user=request.user)
    except check.BatchError as exc:
        messages.error(request, f"Retry: {exc}.")
        return redirect("bulk_progress", pk=pk)
    return redirect("bulk_preview", pk=retry_batch.pk)


def posted_chunk(request: HtmxHttpRequest, batch: Batch) -> BatchChunk | None:
    """The chunk of `batch` a follow-up is limited to, when the form names one."""
    if not request.POST.get("chunk"):
        return None
    return get_object_or_404(batch.chunks, pk=int_or_none(request.POST["chunk"]))


@roles.required(roles.SUBMIT)
@require_POST
def bulk_import_instead(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Import the rows an update did not find: a new batch, checked, then confirmed as usual."""
    batch = visible_batch(request, pk)
    try:
        with transaction.atomic():
            follow_up = tasks.import_instead(
                batch, user=request.user, chunk=posted_chunk(request, batch)
            )
    except check.BatchError as exc:
        messages.error(request, f"Import them instead: {exc}.")
        return redirect("bulk_progress", pk=pk)
    return redirect("bulk_preview", pk=follow_up.pk)


@roles.required(roles.SUBMIT)
@require_POST
def bulk_fix_rows(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One chunk's failed rows as a new batch, opened on its mapping to be fixed."""
    batch = visible_batch(request, pk)
    chunk = posted_chunk(request, batch)
    try:
        follow_up = send.follow_up_batch(
            batch, user=request.user, rows=Batch.ParentRows.FAILED, chunk=chunk
        )
    except check.BatchError as exc:
        messages.error(request, f"Fix rows: {exc}.")
        return redirect("bulk_progress", pk=pk)
    return redirect("bulk_mapping", pk=follow_up.pk)
