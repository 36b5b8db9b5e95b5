"""The live profile edited in the builder (/builder/?live=<id>): only what changed is sent,
with the field-by-field diff; a profile changed meanwhile is shown, not overwritten; after
sending, the profile page reads it again. Against the live sandbox over HTTP."""

import json
from html import unescape

import pytest
from django.core.cache import cache

from altcraft_sandbox.models import Profile
from profiles_ui.models import Submission
from tests.profile.test_views import look, make_profile

BUILDER = "/builder/"


@pytest.fixture(autouse=True)
def fresh_catalog():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def support(client_for, sandbox):
    return client_for("support")


def opened(client, profile: Profile):
    """Read the profile on its page, then open it in the builder: (url, the form's post)."""
    look(client, profile_id=profile.pk)
    url = f"{BUILDER}?live={profile.pk}"
    page = client.get(url)
    assert page.status_code == 200
    data = {key: page.context["b"].target.data.get(key) for key in page.context["b"].target.data}
    html = page.content.decode()
    digest = html.split('name="live_digest" value="')[1].split('"')[0]
    return url, {**data, "form_token": page.context["form_token"], "live_digest": digest}


def preview_json(html: str) -> dict:
    start = html.index('id="preview-json" tabindex="0">') + len('id="preview-json" tabindex="0">')
    return json.loads(unescape(html[start : html.index("</pre>", start)]))


def test_opened_unchanged_the_preview_says_nothing_changed(support):
    profile = make_profile()
    look(support, profile_id=profile.pk)
    html = support.get(BUILDER, {"live": profile.pk}).content.decode()
    assert "<legend>Edit the live profile</legend>" in html
    assert "Nothing changed yet: every field has the value Altcraft holds." in html
    assert preview_json(html)["data"] == {}


def test_the_preview_holds_only_what_changed_with_the_diff(support):
    profile = make_profile()
    url, data = opened(support, profile)
    html = support.post(url, {**data, "p-_lname": "Petrova-Smirnova", "action": "preview"})
    html = html.content.decode()
    assert "<li>_lname: Petrova → Petrova-Smirnova</li>" in html
    payload = preview_json(html)
    assert payload["data"] == {"_lname": "Petrova-Smirnova"}
    assert (payload["matching"], payload["profile_id"]) == ("profile_id", profile.pk)


def test_sending_nothing_changed_is_refused(support):
    profile = make_profile()
    url, data = opened(support, profile)
    html = support.post(url, {**data, "action": "send"}).content.decode()
    assert "nothing changed: every field has the value Altcraft holds" in html
    assert not Submission.objects.exists()


def test_sending_updates_only_what_changed_and_lands_on_the_profile_read_again(support):
    profile = make_profile()
    url, data = opened(support, profile)
    response = support.post(url, {**data, "p-_lname": "Petrova-Smirnova", "action": "send"})
    record = Submission.objects.get(operation="profiles/update")
    assert record.state == Submission.State.SUCCEEDED
    body = json.loads(record.request_body)
    assert body["data"] == {"_lname": "Petrova-Smirnova"}
    assert (body["matching"], body["profile_id"]) == ("profile_id", profile.pk)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/profile/?profile_id={profile.pk}&db_id=1")
    page = support.get(response["Location"]).content.decode()
    assert 'value="Petrova-Smirnova"' in page  # read again from Altcraft
    assert f"Update the profile: record #{record.pk}, Succeeded." in page


def test_a_profile_changed_since_it_was_read_is_shown_first_and_not_overwritten(support):
    profile = make_profile()
    url, data = opened(support, profile)
    Profile.objects.filter(pk=profile.pk).update(fields={**profile.fields, "_fname": "Anya"})
    response = support.post(url, {**data, "p-_lname": "Smirnova", "action": "send"})
    html = response.content.decode()
    assert "The profile changed in Altcraft since you read it." in html
    assert "<li>_fname: Anna → Anya</li>" in html
    assert "&quot;_fname&quot;: &quot;Anya&quot;" in html  # the profile as it is now
    assert not Submission.objects.exists()
    # The form now holds the new state with the edit on top, and the diff is against it.
    shown = response.context["b"].target.data
    assert (shown["p-_fname"], shown["p-_lname"]) == ("Anya", "Smirnova")
    assert "<li>_lname: Petrova → Smirnova</li>" in html
    digest = html.split('name="live_digest" value="')[1].split('"')[0]
    assert digest != data["live_digest"]
    post = {key: shown.get(key) for key in shown}
    support.post(
        url, {**post, "form_token": data["form_token"], "live_digest": digest, "action": "send"}
    )
    body = json.loads(Submission.objects.get().request_body)
    assert body["data"] == {"_lname": "Smirnova"}
    assert Profile.objects.get(pk=profile.pk).fields["_fname"] == "Anya"
