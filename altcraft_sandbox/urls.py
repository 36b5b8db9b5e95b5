from django.urls import path

from altcraft_sandbox import api, pages

app_name = "sandbox"

urlpatterns = [
    path("", pages.index, name="index"),
    path("databases/", pages.databases, name="databases"),
    path("resources/", pages.resources, name="resources"),
    path("workflows/", pages.workflows, name="workflows"),
    path("profiles/", pages.profiles, name="profiles"),
    path("reset/", pages.reset, name="reset"),
    path("api/noop", api.noop, name="noop"),
    # The same floor where an Altcraft client looks for methods (<base>/v1.1/<method>).
    path("api/v1.1/noop", api.noop),
    path("api/v1.1/<path:method>", api.api, name="api"),
]
