"""Every customer identifier a record carries, normalised, for search and the timeline.

Derived from the record's request body and answer, in the transaction that writes them, so an
identifier row never exists without its record nor a record without its identifiers.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from altcraft import formats

Found = tuple[int | None, str, str]  # (row of a batch or None, kind, normalised value)

EMAIL, PHONE, PROFILE_ID, SUBSCRIPTION_ID, MESSENGER_ID, FIELD_VALUE = (
    "email",
    "phone",
    "profile_id",
    "subscription_id",
    "messenger_id",
    "field_value",
)
MAX_LENGTH = 254
# Searched by substring (pg_trgm's index holds only these, see 0013): people remember part of
# an email or a customer number, never part of a generated ID, and every indexed value costs
# each batch chunk its writing time. Phones are matched whole in any written form, or by
# their start: digits have only 1,000 trigrams, too common to find anything fast.
SUBSTRING_KINDS = (EMAIL, FIELD_VALUE)


def phone_region(connection: object) -> str:
    return getattr(connection, "phone_region", None) or formats.DEFAULT_PHONE_REGION


def normalise(kind: str, value: object, region: str) -> str:
    """The one form an identifier is stored and searched in; "" when there is none."""
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    text = str(value).strip()
    if kind == EMAIL:
        text = text.lower()
    elif kind == PHONE:
        text = formats.normalise_phone(text, region) or text
    return text[:MAX_LENGTH]


def search_forms(text: str, region: str) -> set[str]:
    """What a search box's text may be stored as: itself, lower-cased, or a phone's E.164."""
    text = text.strip()
    forms_ = {text, text.lower()}
    if phone := formats.normalise_phone(text, region):
        forms_.add(phone)
    return {form[:MAX_LENGTH] for form in forms_ if form}


def lookup_kind(text: str, region: str) -> tuple[str, str]:
    """What a search box's text is, to look it up in Altcraft: (kind, value) with kind one of
    email, phone (then in E.164) or profile_id."""
    text = text.strip()
    if "@" in text:
        return EMAIL, text
    if phone := formats.normalise_phone(text, region):
        return PHONE, phone
    return PROFILE_ID, text


def in_profile(profile: dict[str, Any], row: int | None, field_name: object) -> Iterator[Found]:
    """Raw identifiers of one profile object: a single request's data or a batch's row."""
    for key, kind in ((EMAIL, EMAIL), (PHONE, PHONE), (PROFILE_ID, PROFILE_ID)):
        yield row, kind, profile.get(key)
    yield row, FIELD_VALUE, profile.get("field_value")
    if isinstance(field_name, str) and field_name:
        yield row, FIELD_VALUE, profile.get(field_name)
    phones = profile.get("phones")
    for phone in phones if isinstance(phones, list) else ():
        yield row, PHONE, phone
    subscriptions = profile.get("subscriptions")
    for sub in subscriptions if isinstance(subscriptions, list) else ():
        if not isinstance(sub, dict):
            continue
        yield row, EMAIL, sub.get("email")
        yield row, PHONE, sub.get("phone")
        yield row, SUBSCRIPTION_ID, sub.get("subscription_id")
        for nested, kind in (("email_data", EMAIL), ("sms_data", PHONE)):
            data = sub.get(nested)
            if isinstance(data, dict):
                yield row, kind, data.get(kind)
        cc_data = sub.get("cc_data")
        if isinstance(cc_data, dict):
            yield row, PHONE, cc_data.get("phone")
            yield row, MESSENGER_ID, cc_data.get("id")


def _results(results: object) -> Iterator[Found]:
    if isinstance(results, list):
        for row, item in enumerate(results):
            if isinstance(item, dict):
                yield row, PROFILE_ID, item.get("profile_id")


def found_in(payload: object, results: object = None, profile_id: object = None) -> Iterator[Found]:
    """Raw identifiers of a request payload and its answer (not yet normalised)."""
    if not isinstance(payload, dict):
        payload = {}
    data = payload.get("data")
    field_name = payload.get("field_name")
    # The matching keys sit at the top of a single request.
    yield from in_profile(payload, None, None)
    if isinstance(data, dict):
        yield from in_profile(data, None, field_name)
    elif isinstance(data, list):
        for row, item in enumerate(data):
            if isinstance(item, dict):
                yield from in_profile(item, row, field_name)
    yield from _results(results)
    yield None, PROFILE_ID, profile_id


def normalised(found: Iterable[Found], region: str) -> list[Found]:
    """Each (row, kind, value) once, normalised, empty values left out, in first-seen order."""
    seen: dict[Found, None] = {}
    for row, kind, value in found:
        if value is None:  # most keys are absent: a bulk check finds some 35 per row
            continue
        if text := normalise(kind, value, region):
            seen.setdefault((row, kind, text), None)
    return list(seen)
