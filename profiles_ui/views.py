from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from profiles_ui.connections import SESSION_KEY, all_connections


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "profiles_ui/home.html")


@require_POST
def switch_connection(request: HttpRequest) -> HttpResponse:
    connection_name = request.POST.get("connection", "")
    chosen = all_connections().get(connection_name)
    if chosen is None:
        messages.error(request, f"Connection: there is no connection named “{connection_name}”.")
    else:
        request.session[SESSION_KEY] = chosen.name
        where = "production" if chosen.production else "a test environment"
        messages.info(request, f"Now working with {chosen.label} ({where}).")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "home"
    return redirect(next_url)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The refusal says who may (roles.refuse); Django's own refusals say nothing.
    reason = str(exception) or "Your role does not allow this."
    return render(request, "403.html", {"reason": reason}, status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may lie in the database they read.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
