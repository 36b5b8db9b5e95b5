from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Altcraft Profile Console"
admin.site.site_title = "Altcraft Profile Console"

urlpatterns = [
    path("", include("profiles_ui.urls")),
    path("sandbox/", include("altcraft_sandbox.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "profiles_ui.views.bad_request"
handler403 = "profiles_ui.views.permission_denied"
handler404 = "profiles_ui.views.page_not_found"
handler500 = "profiles_ui.views.server_error"
