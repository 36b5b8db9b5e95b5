"""Every URL pattern, walked as an anonymous user and as each role.

A new URL must be added to ROUTES with who may use it, or test_every_route_is_listed fails:
access is decided here on purpose, not left to whoever adds the page.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from profiles_ui.models import Batch, Submission
from profiles_ui.roles import ROLES

EVERYONE = frozenset(ROLES)
READ_ALL = frozenset({"support", "auditor", "admin"})
RESEND = frozenset({"support", "admin"})
RECORD_ID = 990_001
BATCH_ID = 990_002
SUBMIT = frozenset({"marketer", "support", "admin"})


@dataclass(frozen=True)
class Route:
    allowed: frozenset[str] = EVERYONE
    public: bool = False
    method: str = "get"
    kwargs: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    redirects_to: str | None = None
    # The page shows one history record: RECORD_ID, owned by the user making the request.
    needs_record: bool = False
    # The page shows one bulk batch: BATCH_ID, finished, owned by the user making the request.
    needs_batch: bool = False


ROUTES: dict[str, Route] = {
    "home": Route(),
    "healthz": Route(public=True),
    "login": Route(public=True),
    "logout": Route(method="post", redirects_to="/login/"),
    "switch_connection": Route(method="post", data={"connection": "sandbox"}),
    "builder": Route(allowed=frozenset({"marketer", "support", "admin"})),
    "history": Route(),
    "history_record": Route(kwargs={"pk": RECORD_ID}, needs_record=True),
    "history_resend": Route(allowed=RESEND, kwargs={"pk": RECORD_ID}, needs_record=True),
    "history_timeline": Route(data={"email": "someone@example.com"}),
    "history_lookup": Route(data={"q": "someone@example.com"}),
    "history_export_csv": Route(allowed=READ_ALL),
    "history_export_jsonl": Route(allowed=READ_ALL),
    "bulk_upload": Route(allowed=SUBMIT),
    "bulk_progress": Route(allowed=SUBMIT, kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_mapping": Route(allowed=SUBMIT, kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_preview": Route(allowed=SUBMIT, kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_invalid_rows": Route(allowed=SUBMIT, kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_report": Route(allowed=SUBMIT, kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_cancel": Route(allowed=SUBMIT, method="post", kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_retry": Route(allowed=SUBMIT, method="post", kwargs={"pk": BATCH_ID}, needs_batch=True),
    "bulk_import_instead": Route(
        allowed=SUBMIT, method="post", kwargs={"pk": BATCH_ID}, needs_batch=True
    ),
    "bulk_fix_rows": Route(
        allowed=SUBMIT, method="post", kwargs={"pk": BATCH_ID}, needs_batch=True
    ),
    "bulk_stop_check": Route(
        allowed=SUBMIT, method="post", kwargs={"pk": BATCH_ID}, needs_batch=True
    ),
    "profile": Route(),
    "profile_change": Route(allowed=SUBMIT, method="post", redirects_to="/profile/"),
    "profile_lookups": Route(allowed=READ_ALL),
    "sandbox:index": Route(allowed=READ_ALL),
    "sandbox:databases": Route(allowed=READ_ALL),
    "sandbox:resources": Route(allowed=READ_ALL),
    "sandbox:workflows": Route(allowed=READ_ALL),
    "sandbox:profiles": Route(allowed=READ_ALL),
    "sandbox:reset": Route(
        allowed=frozenset({"admin"}),
        method="post",
        data={"confirm": "yes"},
        redirects_to="/sandbox/",
    ),
    # The sandbox API checks its own token, not the login; errors are answered in the body.
    "sandbox:api": Route(public=True, method="post", kwargs={"method": "databases/list"}),
    "sandbox:noop": Route(public=True, method="post"),
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def named_patterns(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the Django admin is covered by test_admin_is_for_admins_only
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= named_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(namespace + entry.name)
    return names


def test_every_route_is_listed():
    assert named_patterns() - set(ROUTES) == set()


def request(client, name: str):
    route = ROUTES[name]
    if route.needs_record:
        owner = get_user_model().objects.filter(pk=client.session.get("_auth_user_id")).first()
        Submission.objects.create(
            id=RECORD_ID,
            user=owner,
            username=owner.username if owner else "someone",
            connection="sandbox",
            operation="profiles/import",
            format="json",
            request_body='{"token":"$ALTCRAFT_TOKEN"}',
            state=Submission.State.SUCCEEDED,
        )
    if route.needs_batch:
        owner = get_user_model().objects.filter(pk=client.session.get("_auth_user_id")).first()
        Batch.objects.create(
            id=BATCH_ID,
            user=owner,
            username=owner.username if owner else "someone",
            file="bulk/list.csv",
            invalid_file="bulk/list-invalid.csv",
            state=Batch.State.FINISHED,
        )
        default_storage.save("bulk/list-invalid.csv", ContentFile(b"row,problems\n"))
    return getattr(client, route.method)(reverse(name, kwargs=route.kwargs), route.data)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_anonymous_is_sent_to_login_except_public_pages(client, name):
    response = request(client, name)
    if ROUTES[name].public:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if not r.public))
def test_roles_get_what_they_are_allowed(client_for, role, name):
    response = request(client_for(role), name)
    if role in ROUTES[name].allowed:
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            expected = ROUTES[name].redirects_to
            assert response.url == expected if expected else not response.url.startswith("/login/")
    else:
        assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_admin_is_for_admins_only(client_for, role):
    response = client_for(role).get(reverse("admin:index"))
    if role == "admin":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert "/admin/login/" in response.url


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("marketer", ["build, preview and send"], ["export the history", "every request"]),
        ("support", ["fix and resend", "every request"], ["cannot send"]),
        ("auditor", ["export the history", "cannot send"], ["build, preview and send"]),
        ("admin", ["build, preview and send", "export the history"], ["cannot send"]),
    ],
)
def test_home_says_what_the_role_may_do(client_for, role, visible, hidden):
    page = client_for(role).get(reverse("home")).content.decode()
    assert f'<span class="role-badge">{role}</span>' in page
    for text in visible:
        assert text in page
    for text in hidden:
        assert text not in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_admin_link_only_for_staff(client_for, role):
    page = client_for(role).get(reverse("home")).content.decode()
    assert (reverse("admin:index") in page) == (role == "admin")
