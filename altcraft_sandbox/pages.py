"""The sandbox's pages in the console: what the emulated platform holds and has received.

They show every user's customers, so they are for the roles that may see all history."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from altcraft.formats import ID_MAX, int_or_none
from altcraft_sandbox import seed
from altcraft_sandbox.changes import normalise_phone
from altcraft_sandbox.models import (
    ApiRequest,
    Database,
    Profile,
    Resource,
    ScenarioEntry,
    Subscription,
    Workflow,
)
from profiles_ui import roles

PAGE_SIZE = 25


@roles.required(roles.VIEW_ALL_HISTORY)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    counts = {
        "databases": Database.objects.count(),
        "resources": Resource.objects.count(),
        "workflows": Workflow.objects.count(),
        "profiles": Profile.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "entries": ScenarioEntry.objects.count(),
        "requests": ApiRequest.objects.count(),
    }
    recent = ApiRequest.objects.defer("response")[:10]
    return render(request, "altcraft_sandbox/index.html", {"counts": counts, "recent": recent})


@roles.required(roles.VIEW_ALL_HISTORY)
@require_GET
def databases(request: HttpRequest) -> HttpResponse:
    rows = Database.objects.select_related("group").annotate(profile_count=Count("profiles"))
    return render(request, "altcraft_sandbox/databases.html", {"databases": rows})


@roles.required(roles.VIEW_ALL_HISTORY)
@require_GET
def resources(request: HttpRequest) -> HttpResponse:
    rows = Resource.objects.select_related("group").prefetch_related("databases")
    return render(request, "altcraft_sandbox/resources.html", {"resources": rows})


@roles.required(roles.VIEW_ALL_HISTORY)
@require_GET
def workflows(request: HttpRequest) -> HttpResponse:
    rows = Workflow.objects.select_related("group", "database").annotate(
        entry_count=Count("entries")
    )
    return render(request, "altcraft_sandbox/workflows.html", {"workflows": rows})


def search_profiles(query: str, database_id: str) -> QuerySet[Profile]:
    """Profiles whose email, phone or ID matches the query (in one database if given)."""
    profiles = Profile.objects.all()
    db_id = int_or_none(database_id)
    if db_id is not None and 0 < db_id <= ID_MAX:
        profiles = profiles.filter(database_id=db_id)
    query = query.strip()
    if not query:
        return profiles
    condition = Q(id=query.lower()) | Q(email__icontains=query)
    condition |= Q(subscriptions__identifier__icontains=query.lower())
    phone = normalise_phone(query)
    if phone and len(phone) > 4:
        condition |= Q(phone_rows__phone__startswith=phone)
        condition |= Q(subscriptions__identifier__startswith=phone)
    return profiles.filter(condition).distinct()


@roles.required(roles.VIEW_ALL_HISTORY)
@require_GET
def profiles(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    database_id = request.GET.get("db", "")
    if "\x00" in query:
        # No profile holds one, and the database refuses to compare with one.
        messages.error(request, "Search: remove the NUL character (\\0) from the search.")
        found = Profile.objects.none()
    else:
        found = search_profiles(query, database_id).select_related("database")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(
        page.object_list.prefetch_related(
            Prefetch("subscriptions", Subscription.objects.select_related("resource")),
            Prefetch("entries", ScenarioEntry.objects.select_related("workflow")),
        )
    )
    context = {
        "page": page,
        "query": query,
        "database_id": database_id,
        "databases": Database.objects.all(),
    }
    return render(request, "altcraft_sandbox/profiles.html", context)


@roles.required(roles.RESET_SANDBOX)
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        seed.reset()
        messages.success(request, "Sandbox reset: every profile and request was removed.")
        return redirect("sandbox:index")
    if request.method == "POST":
        messages.error(request, "Reset: tick the box to confirm.")
    return render(
        request, "altcraft_sandbox/reset.html", {"profile_count": Profile.objects.count()}
    )
