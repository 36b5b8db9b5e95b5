"""Every URL pattern, walked as an anonymous user and as each role.

A new URL must be added to ROUTES with who may use it, or test_every_route_is_listed fails:
access is decided here on purpose, not left to whoever adds the page.
"""

from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from profiles_ui.roles import ROLES

EVERYONE = frozenset(ROLES)


@dataclass(frozen=True)
class Route:
    allowed: frozenset[str] = EVERYONE
    public: bool = False
    method: str = "get"
    kwargs: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    redirects_to: str | None = None


ROUTES: dict[str, Route] = {
    "home": Route(),
    "healthz": Route(public=True),
    "login": Route(public=True),
    "logout": Route(method="post", redirects_to="/login/"),
    "switch_connection": Route(method="post", data={"connection": "sandbox"}),
    "builder": Route(allowed=frozenset({"marketer", "support", "admin"})),
    "sandbox:index": Route(),
    "sandbox:databases": Route(),
    "sandbox:resources": Route(),
    "sandbox:workflows": Route(),
    "sandbox:profiles": Route(),
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
