import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/healthz", "/no-such-page/"])
def test_protective_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_pages_carry_no_inline_script_or_style(client_for):
    page = client_for("admin").get(reverse("home")).content.decode()
    assert "<script>" not in page
    assert "style=" not in page
    assert "<style" not in page


def settings_subprocess(**env: str) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "altcraft_admin.settings", "PATH": "", **env},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=False,
    )


def test_secret_key_is_required_outside_debug(tmp_path):
    result = settings_subprocess(SECRET_KEY="", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_runs_without_secret_key():
    result = settings_subprocess(SECRET_KEY="", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_https_switches_on_secure_cookies_and_hsts():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_SSL_REDIRECT)"
    )
    base = {"DJANGO_SETTINGS_MODULE": "altcraft_admin.settings", "SECRET_KEY": "x" * 50}
    for https, expected in (("true", "True True 31536000 True"), ("false", "False False 0 False")):
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            env={**base, "HTTPS": https},
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            check=True,
        )
        assert result.stdout.strip() == expected


def test_the_deployment_check_finds_nothing_behind_tls():
    env = {
        "DJANGO_SETTINGS_MODULE": "altcraft_admin.settings",
        "SECRET_KEY": "k3y-for-the-deployment-check-" + "Zq7#pL2&vX9@wR4!mN8$" * 3,
        "HTTPS": "true",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "console.example.com",
        "DEMO_PASSWORD": "unused",
        "PATH": "",
    }
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_a_refusal_says_who_may_and_logs_no_traceback(client_for, caplog):
    response = client_for("auditor").get(reverse("builder"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "This is for marketers, support staff and admins." in page
    assert '<nav class="site-nav"' in page or "site-footer" in page  # the site's layout
    forbidden = [r for r in caplog.records if getattr(r, "status_code", None) == 403]
    assert forbidden and all(r.exc_info is None for r in forbidden)


@pytest.mark.django_db
def test_pages_of_personal_data_are_not_cached(client_for, django_user_model):
    from profiles_ui.models import Batch
    from tests.helpers import make_record

    client = client_for("support")
    user = django_user_model.objects.get(username="support")
    batch = Batch.objects.create(
        user=user, username="support", original_name="list.csv", file="bulk/list.csv",
        kind="csv", encoding="utf-8", connection="sandbox", operation="profiles/import_batch",
        state=Batch.State.FINISHED,
    )  # fmt: skip
    for url in (
        reverse("history_record", args=[make_record().pk]),
        reverse("bulk_report", args=[batch.pk]),
    ):
        assert "no-store" in client.get(url)["Cache-Control"], url
