"""Checks for single values: each returns None when the value is fine, else a short message."""

import datetime
import ipaddress
import math
import re
from functools import cache, lru_cache
from xml.parsers import expat
from zoneinfo import available_timezones

import phonenumbers

# Characters XML 1.0 cannot carry at all, even escaped: refusing them up front keeps every
# valid payload expressible in both formats.
XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# XML NCName (an XML Name without colons, so namespace-aware parsers accept it too).
_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
XML_NAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*")

_EMAIL = re.compile(r"[^\s@\"(),:;<>\[\]\\]+@[^\s@\"(),:;<>\[\]\\_!#$%&'*+/=?^`{|}~]+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?"
)
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_POSTAL_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z \-]{0,15}")


# How deep a field's value may nest arrays and objects: far more than any profile needs, and
# few enough that every value can be written, read and shown without running out of stack.
MAX_NESTING = 32


# Integers are 64-bit (what Altcraft and the JSON writer take); IDs and a subscription's
# priority are 32-bit, as Altcraft stores them (contract notes).
INT_MAX = 2**63 - 1
ID_MAX = 2**31 - 1


def is_int(value: object) -> bool:
    """An integer Altcraft can take: not a bool, within 64 bits."""
    return type(value) is int and -INT_MAX - 1 <= value <= INT_MAX


def int_problem(value: object) -> str | None:
    if is_int(value):
        return None
    if type(value) is int:
        return f"is out of range: integers go from {-INT_MAX - 1:,} to {INT_MAX:,}"
    return "must be an integer"


def int_or_none(value: object) -> int | None:
    """An integer from a form's text or an answer's value, or None when it is not one."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def is_number(value: object) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


def text_problem(value: str) -> str | None:
    bad = XML_INVALID_CHARS.search(value)
    if bad:
        return f"contains character U+{ord(bad.group()):04X}, which XML cannot carry"
    return None


def string_problem(value: object, *, allow_empty: bool = True) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not allow_empty and not value.strip():
        return "must not be empty"
    return text_problem(value)


def email_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string with an email address"
    return _email_address_problem(value)


# A bulk row repeats its email in the profile and in its email subscriptions: cached, each
# address is checked once.
@lru_cache(maxsize=65_536)
def _email_address_problem(value: str) -> str | None:
    local, _, domain = value.rpartition("@")
    if (
        len(value) > 254
        or len(local) > 64
        or not _EMAIL.fullmatch(value)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in value
        or "." not in domain
        or any(not label or label[0] == "-" or label[-1] == "-" for label in domain.split("."))
        or len(domain.rsplit(".", 1)[1]) < 2
    ):
        return "not a valid email address"
    return text_problem(value)


def phone_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return _NOT_E164
    return _phone_number_problem(value)


_NOT_E164 = "not a valid E.164 phone number (+ and country code, digits only)"


def _phone_number_problem(value: str) -> str | None:
    if not _E164.fullmatch(value):
        return _NOT_E164
    # Valid as phonenumbers' is_valid_number judges it: every documented number
    # (+79000000000, +79511059000) passes, and unallocated ranges, which is_possible_number
    # would let through, fail.
    return None if normalise_phone(value) else "not a valid E.164 phone number"


# People write phones in their country's own way: 8 (903) 157-19-45, +7 989 9142600,
# 79207090293. Parsed against a default region (whose country code phonenumbers also reads
# without its +), every such form becomes the E.164 number Altcraft takes. A number starting
# with + is read as international whatever the region.
DEFAULT_PHONE_REGION = "RU"


def normalise_phone(text: str, region: str | None = DEFAULT_PHONE_REGION) -> str | None:
    """The E.164 form of a phone as a person wrote it, or None when it is not a valid number."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    text = text.strip()
    if text[:1] == "+":
        region = None  # international whatever the region: one cached answer for every region
    elif not region:
        # With no region, "79207090293" can only be a country code written without its +.
        text, region = "+" + text, None
    return _parsed_phone(text, region)


# A profile repeats its phone in phones and in several subscriptions, a bulk row's phone is
# read, validated and indexed, and parsing costs tens of microseconds: each answer is cached.
# A valid number's E.164 form is cached as its own answer too, so that validating the form a
# file's "8 (916) 123-45-67" became does not parse it again.
_PARSED_PHONES: dict[tuple[str, str | None], str | None] = {}
_PARSED_PHONES_MAX = 65_536


def _parsed_phone(text: str, region: str | None) -> str | None:
    key = (text, region)
    if key in _PARSED_PHONES:
        return _PARSED_PHONES[key]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        e164 = None
    else:
        valid = phonenumbers.is_valid_number(number)
        e164 = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if valid
            else None
        )
    if len(_PARSED_PHONES) >= _PARSED_PHONES_MAX:
        _PARSED_PHONES.clear()  # a bound, not a policy: the next rows refill it
    _PARSED_PHONES[key] = e164
    if e164:
        _PARSED_PHONES[e164, None] = e164
    return e164


def date_problem(value: object) -> str | None:
    """RFC 3339, plus the short forms the user guide shows (2001-12-31, 2001-12-31T00:00+03:00)."""
    message = "not a date; expected like 2001-12-31 or 2001-12-31T23:59:59+03:00"
    if not isinstance(value, str):
        return message
    m = _DATE.fullmatch(value)
    if not m:
        return message
    year, month, day, hour, minute, second, _, off_h, off_m = m.groups()
    try:
        datetime.date(int(year), int(month), int(day))
        if hour is not None:
            datetime.time(int(hour), int(minute), int(second or 0))
        if off_h is not None and (int(off_h) > 23 or int(off_m) > 59):
            return message
    except ValueError:
        return message
    return None


def ip_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string with an IPv4 or IPv6 address"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "not a valid IPv4 or IPv6 address"
    return None


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone_problem(value: object) -> str | None:
    if not isinstance(value, str) or value not in time_zones():
        return "not an IANA time zone (e.g. Europe/Moscow)"
    return None


def country_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        return "must be a two-letter country code (e.g. RU, US)"
    return None


def postal_code_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return 'must be a string (e.g. "390000"), not a number'
    if not _POSTAL_CODE.fullmatch(value):
        return "not a postal code (letters, digits, spaces and hyphens)"
    return None


def sex_problem(value: object) -> str | None:
    # The console sends "male"/"female"; the documented examples also use 0, and the
    # decisions table accepts 0, 1 and 2.
    if value in ("male", "female") or (is_int(value) and value in (0, 1, 2)):
        return None
    return 'must be "male" or "female" (0, 1 and 2 are accepted too)'


def status_problem(value: object) -> str | None:
    if is_int(value) and 0 <= value <= 6:
        return None
    return "must be a profile status number from 0 to 6"


def positive_int_problem(value: object) -> str | None:
    """An ID of a database, resource, scenario or segment."""
    if is_int(value) and 0 < value <= ID_MAX:
        return None
    return f"must be a positive integer, at most {ID_MAX:,}"


def non_empty_string_problem(value: object) -> str | None:
    return string_problem(value, allow_empty=False)


@lru_cache(maxsize=4096)
def is_xml_name(name: str) -> bool:
    """Whether ``name`` can be an element name, as the XML parsers in use see it.

    Expat still classifies non-ASCII name characters by the older XML 1.0 tables, which
    refuse some that the newer production allows (U+FDF0, for one), so it has the last word.
    """
    if not XML_NAME.fullmatch(name):
        return False
    if name.isascii():
        return True
    try:
        expat.ParserCreate().Parse(f"<{name}/>", True)
    except expat.ExpatError:
        return False
    return True


def name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not is_xml_name(name):
        return "not a valid field name (letters, digits, _ - . and no leading digit)"
    return None


FORMAT_CHECKS = {
    "string": string_problem,
    "email": email_problem,
    "phone": phone_problem,
    "date": date_problem,
    "ip": ip_problem,
    "time_zone": time_zone_problem,
    "country": country_problem,
    "postal_code": postal_code_problem,
    "sex": sex_problem,
    "status": status_problem,
    "int": int_problem,
    "positive_int": positive_int_problem,
    "non_empty_string": non_empty_string_problem,
}
