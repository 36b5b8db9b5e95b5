"""{% profile_link kind value %}: an identifier, linked to its live profile page."""

import json

from django import template
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import format_html

from profiles_ui.bulk.mapping import identifier_key

register = template.Library()

KINDS = ("email", "phone", "profile_id")


@register.simple_tag
def profile_url(kind: str, value: object, db_id: object = None, connection: str = "") -> str:
    """The profile page's address for one identifier (empty when there is nothing to link)."""
    if kind not in KINDS or value in (None, ""):
        return ""
    query = QueryDict(mutable=True)
    query[kind] = str(value)
    if db_id not in (None, ""):
        query["db_id"] = str(db_id)
    if connection:
        query["connection"] = connection
    return f"{reverse('profile')}?{query.urlencode()}"


@register.simple_tag
def profile_link(kind: str, value: object, db_id: object = None, connection: str = "") -> str:
    url = profile_url(kind, value, db_id, connection)
    if not url:
        return format_html("{}", value or "—")
    return format_html('<a href="{}" class="profile-link">{}</a>', url, value)


# The profile key a bulk batch names its rows by (bulk.mapping.identifier_key), as a kind the
# profile page looks up; a custom field's value is not one.
KIND_OF_KEY = {"email": "email", "phones": "phone", "profile_id": "profile_id"}


@register.filter
def identifier_kind(batch: object) -> str:
    """What a bulk batch's row identifiers are, for profile_link: "" when not linkable."""
    return KIND_OF_KEY.get(identifier_key(batch), "") if batch else ""


@register.filter
def json_value(value: object) -> str:
    """A field value as the API carries it: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
