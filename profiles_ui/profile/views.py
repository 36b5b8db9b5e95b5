"""The live profile: look a customer up in Altcraft, change it piece by piece, delete it.

Every change is a recorded submission (services.submit). Each is previewed first, from the
profile read again just then; sending reads it once more, and if it changed since the
preview the page says so and shows the new state instead of sending.
"""

import uuid

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from altcraft import live_profile
from altcraft.channels import CHANNELS, STATUS_WORDS
from altcraft.error_codes import describe_error
from altcraft.live_profile import Identifier
from profiles_ui import roles, services
from profiles_ui.connections import active_connection
from profiles_ui.http import HtmxHttpRequest
from profiles_ui.models import ProfileLookup
from profiles_ui.profile import reading
from profiles_ui.profile.changes import FIELD_PREFIX, NotSendable, plan
from profiles_ui.profile.edit import IMPORT_KEY, read_again, remember
from profiles_ui.profile.forms import DeleteForm, LookupForm

PAGE = "profiles_ui/profile/profile.html"
CARRIED = ("connection", "db_id", "profile_id", "digest", "action", "index", "resource_id",
           "channel", "address", "provider", "status", "priority", "cats", "custom_fields",
           "confirm", "form_token")  # fmt: skip


def profile_url(connection: str, db_id: int, **identifier: str) -> str:
    query = QueryDict(mutable=True)
    query.update({**identifier, "db_id": str(db_id), "connection": connection})
    return f"{reverse('profile')}?{query.urlencode()}"


@never_cache
@require_GET
@roles.required(roles.LOOKUP_PROFILE)
def profile(request: HtmxHttpRequest) -> HttpResponse:
    form = LookupForm(request.GET or None, default_connection=active_connection(request.session))
    if not request.GET or not form.is_valid():
        return render(request, PAGE, {"form": form}, status=400 if request.GET else 200)
    connection, db_id = form.cleaned_data["connection"], form.cleaned_data["db_id"]
    identifier: Identifier = form.cleaned_data["identifier"]
    found = reading.read_and_log(request.user, connection, identifier, db_id)
    context = {
        "form": form,
        "connection": connection,
        "db_id": db_id,
        "identifier": identifier,
        "reading": found,
        "timeline": reading.console_timeline(request.user, identifier, connection),
        "error_meaning": describe_error(found.error) if found.error else "",
    }
    if found.error == 435:
        context["candidates"] = reading.candidates(request.user, identifier)
    if found.error == 404 and identifier.kind in ("email", "phone"):
        request.session[IMPORT_KEY] = {
            "kind": identifier.kind, "value": identifier.value, "db_id": db_id,
        }  # fmt: skip
        context["import_url"] = f"{reverse('builder')}?import=1"
    if found.found:
        context.update(_profile_context(connection, db_id, found.profile))
        remember(request, found.profile)
    return render(request, PAGE, context, status=200 if found.found else 404)


def _profile_context(connection, db_id: int, profile: dict) -> dict:
    names = reading.resource_names(connection)
    subs = []
    for index, sub in enumerate(profile.get("subscriptions") or []):
        status = sub.get("status")
        subs.append(
            {
                "index": index,
                "sub": sub,
                "resource": names.get(sub.get("resource_id"), ""),
                "address": live_profile.address_text(sub),
                "status": STATUS_WORDS.get(status, status) if isinstance(status, int) else status,
                "cats": ", ".join(str(c) for c in sub.get("cats") or []),
            }
        )
    return {
        "profile": profile,
        "digest": live_profile.digest(profile),
        "fields": reading.field_rows(connection, db_id, profile),
        "subscriptions": subs,
        "resources": sorted({s["sub"].get("resource_id") for s in subs} - {None}),
        "all_resources": sorted(names.items()),
        "channels": list(CHANNELS),
        "statuses": live_profile.STATUS_CHOICES,
        "field_prefix": FIELD_PREFIX,
    }


@never_cache
@require_POST
@roles.required(roles.CHANGE_LIVE_PROFILE)
def profile_change(request: HtmxHttpRequest) -> HttpResponse:
    """Every change: preview (with the profile read now), then send once confirmed."""
    post = request.POST
    action = post.get("action", "")
    if action == "delete" and not request.user.has_perm(roles.DELETE_LIVE_PROFILE):
        raise roles.refuse(roles.DELETE_LIVE_PROFILE)
    form = LookupForm(
        {"profile_id": post.get("profile_id", ""), "db_id": post.get("db_id", ""),
         "connection": post.get("connection", "")},
        default_connection=active_connection(request.session),
    )  # fmt: skip
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.values()))
        return redirect("profile")
    connection, db_id = form.cleaned_data["connection"], form.cleaned_data["db_id"]
    profile_id = form.cleaned_data["identifier"].value
    back = profile_url(connection.name, db_id, profile_id=profile_id)
    reread = read_again(request, connection, db_id, profile_id, post.get("digest", ""))
    found, digest = reread.reading, reread.digest
    if not found.found:
        messages.error(request, f"The profile could not be read again: {found.error_text}")
        return redirect(back)
    context = {"connection": connection, "db_id": db_id, "profile": found.profile, "back": back}
    if reread.stale:
        context.update(stale=True, stale_changes=reread.stale_changes)
    try:
        planned = plan(action, post, found.profile, db_id)
    except NotSendable as exc:
        messages.error(request, f"Not sent: {exc}.")
        return redirect(back)
    delete_form = DeleteForm(post if "confirm" in post else None, profile=found.profile)
    ready = post.get("send") == "1" and "stale" not in context
    if action == "delete" and ready and not delete_form.is_valid():
        ready = False
    if not ready:
        return _confirmation(request, context, planned, digest, delete_form)
    return _send(request, connection, planned, back)


def _confirmation(request, context: dict, planned, digest: str, delete_form) -> HttpResponse:
    carry = [
        (k, v)
        for k in CARRIED
        if k not in ("digest", "form_token")
        for v in request.POST.getlist(k)
    ]
    carry += [(k, v) for k, v in request.POST.items() if k.startswith(FIELD_PREFIX)]
    body = services.request_body(planned.payload, "json", context["connection"]).decode()
    context.update(
        planned=planned,
        body=body,
        carry=carry,
        digest=digest,
        delete_form=delete_form if planned.operation == "profiles/delete" else None,
        form_token=request.POST.get("form_token") or str(uuid.uuid4()),
    )
    return render(request, "profiles_ui/profile/confirm.html", context)


def _send(request, connection, planned, back: str) -> HttpResponse:
    try:
        record = services.submit(
            user=request.user,
            connection=connection,
            operation=planned.operation,
            payload=planned.payload,
            reason=planned.reason,
            request_id=services.request_id_from(request.POST.get("form_token", "")),
        )
    except services.AlreadySent as sent:
        record = sent.record
    link = announce(request, planned.title, record)
    if planned.operation == "profiles/delete" and record.state == record.State.SUCCEEDED:
        return redirect(link)
    return redirect(back)


def announce(request: HtmxHttpRequest, title: str, record) -> str:
    """Say on the next page what a change came to, with its record's link (returned)."""
    link = reverse("history_record", args=[record.pk])
    text = f"{title}: record #{record.pk}, {record.get_state_display()}."
    if record.error:
        text += f" Altcraft answered {record.error}: {record.error_text}"
    (messages.success if record.state == record.State.SUCCEEDED else messages.error)(
        request, f"{text} ({link})"
    )
    return link


@require_GET
@roles.required(roles.VIEW_LOOKUPS)
def profile_lookups(request: HtmxHttpRequest) -> HttpResponse:
    """The access log of lookups, for auditors: filter by user, identifier, connection."""
    rows = ProfileLookup.objects.all()
    filters = {
        "username": request.GET.get("username", "").strip(),
        "identifier": request.GET.get("identifier", "").strip(),
        "connection": request.GET.get("connection", "").strip(),
    }
    rows = rows.filter(**{k: v for k, v in filters.items() if v})
    return render(
        request,
        "profiles_ui/profile/lookups.html",
        {"rows": rows[:200], "count": rows.count(), "filters": filters},
    )
