"""Generated payloads: valid ones survive JSON -> XML -> JSON unchanged; junk never crashes."""

import datetime
import json
import xml.etree.ElementTree as ET  # noqa: S405 - parses only XML this test wrote
from zoneinfo import available_timezones

import defusedxml.ElementTree as DET
import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altcraft.codec import (
    PayloadError,
    decode,
    decode_response,
    encode_json,
    encode_xml,
)
from altcraft.formats import XML_INVALID_CHARS
from altcraft.matching import MATCHING_MODES
from altcraft.operations import OPERATIONS
from altcraft.validation import Problem, validate

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Custom fields of the generated database, one per type.
TYPES = {
    "nickname": "string",
    "visits": "int",
    "score": "float",
    "vip": "bool",
    "since": "date",
    "labels": "tags",
    "prefs": "object",
    "orders": "arr_object",
}

SPECIAL = ["<", "&", "]]>", '"', "'", "&amp;", "<xml>", "\r\n", " padded ", "🎉", "Ольга", "中文"]
text = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(st.characters(codec="utf-8").filter(lambda c: not XML_INVALID_CHARS.match(c))),
)
word = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
name = st.builds(lambda head, tail: head + tail, st.sampled_from("abcxyzQ_é"), word)
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
email = st.one_of(
    st.builds("{}.{}@{}.{}".format, word, word, label, st.sampled_from(["com", "ru", "info"])),
    st.sampled_from(["example@example.com", "пользователь@пример.рф", "a+b@x.io"]),
)
PHONES = [
    phonenumbers.format_number(
        phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE),
        phonenumbers.PhoneNumberFormat.E164,
    )
    for region in ("RU", "US", "DE", "GB", "FR", "KZ", "BR", "IN")
]
phone = st.sampled_from(["+79000000000", "+79511059000", *PHONES])
zone = datetime.timezone(datetime.timedelta(hours=3))
ZONES = sorted(available_timezones())
date = st.one_of(
    st.dates().map(datetime.date.isoformat),
    st.datetimes(timezones=st.sampled_from([datetime.UTC, zone])).map(
        lambda d: d.isoformat().replace("+00:00", "Z")
    ),
)
integer = st.integers(-(2**53), 2**53)
number = st.one_of(integer, st.floats(allow_nan=False, allow_infinity=False))
flat_object = st.dictionaries(name, text, min_size=1, max_size=3)

VALUES = {
    "nickname": text,
    "visits": integer,
    "score": number,
    "vip": st.booleans(),
    "since": date,
    "labels": st.lists(text, max_size=3),
    "prefs": st.dictionaries(name, st.one_of(text, flat_object), max_size=3),
    "orders": st.lists(flat_object, max_size=2),
}
FUNCTIONS = {
    "nickname": st.one_of(
        st.builds(lambda v: {"action": "set", "value": v}, text), st.just({"action": "unset"})
    ),
    "visits": st.builds(lambda v: {"action": "incr", "value": v}, integer),
    "labels": st.builds(
        lambda a, v: {"action": a, "value": v},
        st.sampled_from(["add", "delete"]),
        st.lists(text, max_size=3),
    ),
    "prefs": st.builds(lambda v, s: {"action": "upsert", "value": v, "submatch": s}, text, word),
}


def subscription(batch: bool) -> st.SearchStrategy[dict]:
    base = st.fixed_dictionaries(
        {"resource_id": st.integers(1, 2**31 - 1)},
        optional={
            "status": st.one_of(st.sampled_from(["subscribed", "suspended"]), st.integers(0, 6)),
            "priority": st.integers(0, 100),
            "custom_fields": st.dictionaries(name, text, max_size=3),
            "cats": st.lists(text.filter(str.strip), max_size=3),
        },
    )
    email_key = (
        st.builds(lambda e: {"email_data": {"email": e}}, email)
        if batch
        else st.builds(lambda e: {"email": e}, email)
    )
    channels = st.one_of(
        st.tuples(st.just("email"), email_key),
        st.tuples(st.just("sms"), st.builds(lambda p: {"phone": p}, phone)),
        st.tuples(
            st.just("push"),
            st.builds(
                lambda p, s: {"provider": p, "subscription_id": s},
                st.sampled_from(["android-firebase", "ios-apns", "Chrome"]),
                word,
            ),
        ),
        st.tuples(st.just("telegram_bot"), st.builds(lambda i: {"cc_data": {"id": i}}, integer)),
        st.tuples(
            st.sampled_from(["whatsapp", "viber", "notify"]),
            st.builds(lambda p: {"cc_data": {"phone": p}}, phone),
        ),
    )
    return st.builds(lambda b, c: {**b, "channel": c[0], **c[1]}, base, channels)


def profile(batch: bool, functions: bool) -> st.SearchStrategy[dict]:
    custom = {
        field: st.one_of(VALUES[field], FUNCTIONS[field])
        if functions and field in FUNCTIONS
        else VALUES[field]
        for field in TYPES
    }
    return st.fixed_dictionaries(
        {},
        optional={
            "email": email,
            "phones": st.lists(phone, max_size=2),
            "_fname": text,
            "_lname": text,
            "_bdate": date,
            "_sex": st.sampled_from(["male", "female", 0, 1, 2]),
            "_regip": st.ip_addresses().map(str),
            "_tz": st.sampled_from(ZONES),
            "_postal_code": st.from_regex(r"[0-9]{6}", fullmatch=True),
            "_country": st.sampled_from(["RU", "US"]),
            "_status": st.integers(0, 6),
            "subscriptions": st.lists(subscription(batch), max_size=4),
            **custom,
        },
    )


PROFILES = {(b, f): profile(b, f) for b in (False, True) for f in (False, True)}

MATCHING_KEYS = {
    "email": st.fixed_dictionaries({"email": email}),
    "phone": st.fixed_dictionaries({"phone": phone}),
    "profile_id": st.fixed_dictionaries({"profile_id": word}),
    "push_sub": st.fixed_dictionaries({"provider": word, "subscription_id": word}),
    "custom": st.fixed_dictionaries({"field_name": st.just("nickname"), "field_value": word}),
    "email_phone": st.fixed_dictionaries({}, optional={"email": email, "phone": phone}).filter(
        bool
    ),
}
PUSH = {"resource_id": 1, "channel": "push", "provider": "ios-apns", "subscription_id": "t"}


def matching_keys(mode: str) -> st.SearchStrategy[dict]:
    if mode in MATCHING_KEYS:
        return MATCHING_KEYS[mode]
    return MATCHING_KEYS[mode.rsplit("_", 1)[0]]


def batch_item(item: dict, mode: str, extra: dict) -> dict:
    """Puts the lookup value inside the profile, where batches carry it."""
    key = MATCHING_MODES[mode].batch_value_key
    if key == "phones":
        return {**item, "phones": [extra["phone"]]}
    if key:
        return {**item, key: extra[key]}
    if mode.startswith("custom"):
        return {**item, "nickname": extra["field_value"]}
    if mode == "push_sub":
        return {**item, "subscriptions": [*item.get("subscriptions", []), PUSH]}
    if "email" in extra:
        return {**item, "email": extra["email"]}
    return {**item, "phones": [extra["phone"]]}


@st.composite
def requests(draw: st.DrawFn, operation: str | None = None) -> tuple[str, dict]:
    op = OPERATIONS[operation or draw(st.sampled_from(sorted(OPERATIONS)))]
    payload = {"token": draw(word)}
    payload["workflow_id" if op.needs_workflow_id else "db_id"] = draw(st.integers(1, 2**31 - 1))
    for flag in ("skip_triggers", "skip_invalid_subscriptions"):
        if draw(st.booleans()):
            payload[flag] = draw(st.booleans())
    if op.needs_workflow_id and draw(st.booleans()):
        payload["content"] = draw(st.dictionaries(name, text, max_size=3))
    item = PROFILES[op.is_batch, op.allows_functions]
    if not op.takes_matching:
        payload["data"] = draw(st.lists(item, min_size=1, max_size=3) if op.is_batch else item)
        return op.path, payload
    mode = draw(st.sampled_from(op.matching_modes))
    payload["matching"] = mode
    keys = draw(matching_keys(mode))
    if not op.is_batch:
        payload.update(keys)
        payload["data"] = draw(item)
        return op.path, payload
    if mode.startswith("custom"):
        payload["field_name"] = "nickname"
    items = draw(st.lists(item, min_size=1, max_size=3))
    payload["data"] = [batch_item(i, mode, draw(matching_keys(mode))) for i in items]
    return op.path, payload


@SETTINGS
@given(requests())
def test_generated_requests_are_valid(request):
    operation, payload = request

    assert validate(operation, payload, custom_field_types=TYPES) == []


@SETTINGS
@given(requests())
def test_json_to_xml_to_json_is_the_identity(request):
    operation, payload = request
    json_body = encode_json(payload)

    via_xml = decode(encode_xml(payload), "xml", operation=operation, custom_field_types=TYPES)

    assert via_xml == payload
    assert encode_json(via_xml) == json_body


@SETTINGS
@given(requests())
def test_xml_is_well_formed_for_namespace_aware_and_defused_parsers(request):
    body = encode_xml(request[1])

    assert ET.fromstring(body).tag == "xml"  # noqa: S314
    assert DET.fromstring(body, forbid_dtd=True).tag == "xml"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)
junk_keys = st.sampled_from(["db_id", "data", "matching", "email", "phone", "subscriptions"])
junk = st.dictionaries(st.one_of(junk_keys, st.text(max_size=6)), json_values, max_size=6)


@SETTINGS
@given(st.sampled_from([*OPERATIONS, "nope", ""]), junk)
def test_junk_requests_give_problems_never_exceptions(operation, payload):
    problems = validate(operation, payload)

    assert all(isinstance(p, Problem) and isinstance(p.path, str) for p in problems)
    assert all(isinstance(p.message, str) and p.message for p in problems)


@st.composite
def broken_requests(draw: st.DrawFn) -> tuple[str, dict]:
    """A valid request with one value somewhere replaced by junk."""
    operation, payload = draw(requests())
    target, key = payload, None
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        # Descend only into a non-empty container, so `key` always indexes `target`.
        if not isinstance(target[key], dict | list) or not target[key] or draw(st.booleans()):
            break
        target = target[key]
    if key is not None:
        target[key] = draw(json_values)
    return operation, payload


@SETTINGS
@given(broken_requests())
def test_broken_requests_give_problems_never_exceptions(request):
    operation, payload = request

    problems = validate(operation, payload, custom_field_types=TYPES)

    assert all(isinstance(p, Problem) for p in problems)


xml_ish = st.text("<>/=' \"&;#x!-[]?axmlrytue\n0é", max_size=60)


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=200),
        xml_ish.map(str.encode),
        xml_ish.map(lambda t: ("<xml>" + t + "</xml>").encode()),
    ),
    st.sampled_from(["json", "xml"]),
)
def test_decoding_random_bytes_gives_a_dict_or_payload_error(body, fmt):
    for decoder in (decode, decode_response):
        try:
            result = decoder(body, fmt)
        except PayloadError as exc:
            assert str(exc)
        else:
            assert isinstance(result, dict)


@SETTINGS
@given(junk)
def test_encoding_junk_gives_well_formed_xml_or_payload_error(payload):
    try:
        body = encode_xml(payload)
    except PayloadError as exc:
        assert str(exc)
    else:
        assert DET.fromstring(body, forbid_dtd=True).tag == "xml"


# Every JSON value but floats, and then some: integers past 64 bits, keys that are not
# strings, any character (lone surrogates included), a subclass of str.
class _Text(str):
    pass


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(st.characters()),
    st.sampled_from(["null", "1e-7", "0.00001", "\x7f", "\u2028", "\b\f\n\r\t\x00"]),
    st.builds(_Text, st.text(max_size=3)),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_payloads = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=4), inner),
    ),
    max_leaves=12,
)


def _as_json_reads_it(value: object) -> object:
    if isinstance(value, dict):
        return {key: _as_json_reads_it(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_json_reads_it(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


@SETTINGS
@given(json_payloads)
def test_encode_json_writes_what_json_reads_back_or_says_why_not(payload):
    try:
        body = encode_json(payload)
    except PayloadError:
        return
    assert json.loads(body) == _as_json_reads_it(payload)


# Hand-written XML with what encode_xml never writes: marks on anything, repeats, mixed
# content, comments, entities, namespaces, DTDs, other encodings, and truncation. Names
# come by depth, so that typed, array and functional fields are met where they are known.
XML_NAMES = [
    ["data", "data", "db_id", "add_to_segments", "content", "result", "error"],
    ["subscriptions", "phones", "labels", "orders", "prefs", "visits", "_sex", "email", "é"],
    ["resource_id", "cats", "cc_data", "custom_fields", "status", "value", "id", "xml", "a"],
]
XML_TEXTS = ["", " ", "1", "-2", "007", "1.5", "1e3", "true", "false", "x", "&amp;", "&#x41;",
             "<![CDATA[<z>]]>", "a<!--c-->b", "a<?pi x?>b", "\r\n", "١٢", "9" * 5000]  # fmt: skip
XML_ATTRS = ["", "", "", " array='true'", ' array="true"', " array='false'", " other='1'",
             " xml:lang='en'"]  # fmt: skip
XML_PROLOGS = ["", "", "", '<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff<!-- c --><?pi?>",
               "<!DOCTYPE xml>", '<?xml version="1.0" encoding="windows-1251"?>']  # fmt: skip


@st.composite
def xml_elements(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(st.sampled_from(XML_NAMES[min(depth, 2)]))
    attrs = draw(st.sampled_from(XML_ATTRS))
    if depth < 4 and draw(st.booleans()):
        kids = draw(st.lists(xml_elements(depth + 1), max_size=4))
        if draw(st.sampled_from([False] * 3 + [True])):  # a functional update
            kids.insert(0, f"<action>{draw(st.sampled_from(['incr', 'add', 'set', 'x']))}</action>")
        inner = draw(st.sampled_from(["", " ", "\n  ", "tail"])).join(kids)
    else:
        inner = draw(st.sampled_from(XML_TEXTS))
    if not inner and draw(st.booleans()):
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{inner}</{name}>"


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    prolog = draw(st.sampled_from(XML_PROLOGS))
    root = draw(st.sampled_from(["xml"] * 5 + ["root"]))
    attrs = draw(st.sampled_from(["", "", "", " array='true'", " array='true'", " xmlns='urn:x'"]))
    kids = "".join(draw(st.lists(xml_elements(), max_size=6)))
    if draw(st.sampled_from([False] * 9 + [True])):  # a prefix, kept as written only by expat
        kids += "<p:a>1</p:a>"
    if draw(st.sampled_from([False] * 9 + [True])):  # around the deepest nesting allowed
        levels = draw(st.sampled_from([62, 63, 64, 70]))
        kids += "<a>" * levels + "1" + "</a>" * levels
    text = f"{prolog}<{root}{attrs}>{kids}</{root}>"
    body = text.encode("cp1251" if "1251" in prolog else "utf-8", "xmlcharrefreplace")
    if draw(st.sampled_from([False] * 19 + [True])):  # cut short anywhere
        body = body[: draw(st.integers(0, len(body)))]
    return body


@SETTINGS
@given(
    xml_documents(),
    st.sampled_from([None, "profiles/import_batch", "profiles/update", "response"]),
)
def test_hand_written_xml_decodes_to_a_dict_or_a_payload_error(body, operation):
    try:
        if operation == "response":
            decoded = decode_response(body, "xml")
        else:
            decoded = decode(body, "xml", operation=operation, custom_field_types=TYPES)
    except PayloadError:
        return
    assert isinstance(decoded, dict)
