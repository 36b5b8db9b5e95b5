"""{% profile_link kind value %}: an identifier, linked to its live profile page."""

import json

from django import template
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import format_html

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


@register.filter
def json_value(value: object) -> str:
    """A field value as the API carries it: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
