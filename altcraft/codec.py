"""Canonical JSON and Altcraft XML (contract §6), both ways, for requests and responses.

XML rules, written and read (decisions table, §13):
- the root is <xml>; keys are elements, in the order given;
- every array item is an element marked array='true'; an empty array or object is an empty
  element (<cats/>), so a lone element marked array='true' is a one-item array;
- when reading, repeated elements are an array with or without the mark, and keys the
  contract types as arrays (phones, subscriptions, a batch's data) are arrays even when
  they appear once unmarked;
- booleans are true/false, numbers digits; XML has no null, so None becomes an empty
  element (validation refuses nulls in requests anyway).
"""

import json
import re

import orjson
from defusedxml import DefusedXmlException

from .formats import XML_INVALID_CHARS, is_xml_name
from .operations import normalize_path
from .problems import join_path
from .schema import RESPONSE, request_schema
from .xmlparse import SAXParseException, XMLRefused, parse_xml

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}


class PayloadError(ValueError):
    """A body that cannot be read or written; the message says why, for a person."""


class _Unencodable(ValueError):
    pass


# --- JSON -------------------------------------------------------------------------------


# Dataclasses and dates are not JSON's types: refused, as JSON has no way to write them.
_ORJSON = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def encode_json(payload: object, *, pretty: bool = False) -> bytes:
    """UTF-8, compact (or indented by two for people), keys in the order given.

    orjson writes it: encoding is a large share of checking a bulk row, and orjson is several
    times faster than the json module. It refuses what Altcraft could not read either:
    integers beyond 64 bits, keys that are not strings, lone surrogates. It writes a float
    that is not finite as null; validation refuses such floats before anything is sent.
    """
    option = _ORJSON | orjson.OPT_INDENT_2 if pretty else _ORJSON
    try:
        return orjson.dumps(payload, option=option)
    except orjson.JSONEncodeError as exc:
        raise PayloadError(f"cannot be written as JSON: {exc}") from None


def _refuse_constant(name: str) -> object:
    raise PayloadError(f"malformed JSON: {name} is not a JSON value")


# \uD800-\uDFFF escapes: a surrogate must come in a pair to be a character.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_json(body: bytes | str, *, max_depth: int | None = None) -> object:
    """Any JSON value; PayloadError says what is wrong and where, for a person.

    The json module reads it, keeping integers of any length as integers (validation then
    names those Altcraft cannot take). A lone surrogate (a "\\ud800" escape without its pair)
    is no character: it is refused. With max_depth, so is nesting deeper than that.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(body.removeprefix("\ufeff"), parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise PayloadError("malformed JSON: nested too deeply") from None
    except PayloadError:
        raise
    except ValueError as exc:  # e.g. integers longer than Python's digit limit
        raise PayloadError(f"malformed JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(value):
        raise PayloadError("malformed JSON: a \\u escape is half of a character (a lone surrogate)")
    if max_depth is not None and _depth(value) > max_depth:
        raise PayloadError(f"nested more than {max_depth} levels deep")
    return value


def _has_lone_surrogate(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value: object) -> int:
    """How many arrays and objects deep a decoded value goes (without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in children)
    return deepest


# --- XML encoding -----------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_needs_escape = _NEEDS_ESCAPE.search
_TAGS: dict[str, tuple[str, str, str, str]] = {}


def _tags(name: object) -> tuple[str, str, str, str]:
    """Open, close, open-as-array-item and empty tags; names are checked once and cached."""
    if not isinstance(name, str) or not is_xml_name(name):
        raise _Unencodable(f"{name!r} is not a valid XML element name")
    tags = (f"<{name}>", f"</{name}>", f"<{name} array='true'>", f"<{name}/>")
    if len(_TAGS) < 50_000:  # custom field names are few; bound the cache anyway
        _TAGS[name] = tags
    return tags


def _escape(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    if bad := XML_INVALID_CHARS.search(text):
        raise _Unencodable(f"contains character U+{ord(bad.group()):04X}, which XML cannot carry")
    # \r is written as a reference because XML parsers turn a literal one into \n.
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return _escape(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unencodable("a number that is not finite cannot be sent")
        return repr(value)
    if value is None:  # XML has no null; an empty element is the nearest
        return ""
    raise _Unencodable(f"a {type(value).__name__} value cannot be written")


def _write(obj: dict, out: list[str]) -> None:
    # Plain string building is several times faster than building an ElementTree and
    # serialising it (7x in bench/bench_contract.py). Exact types come first, the commonest
    # first; an element with a value is one f-string (one new string, where + made two);
    # the isinstance fallbacks after them encode subclasses as JSON would.
    add = out.append
    for key, value in obj.items():
        tags = _TAGS.get(key) or _tags(key)
        kind = type(value)
        if kind is str:
            if _needs_escape(value) is not None:
                value = _escape(value)
            add(f"<{key}>{value}</{key}>")
        elif kind is int:
            add(f"<{key}>{value}</{key}>")
        elif kind is list or kind is tuple:
            _write_items(key, tags, value, out)
        elif kind is dict or isinstance(value, dict):
            if value:
                add(tags[0])
                _write(value, out)
                add(tags[1])
            else:
                add(tags[3])
        elif isinstance(value, list | tuple):
            _write_items(key, tags, value, out)
        else:  # a subclass's text is its own, not its __str__'s: no f-string here
            add(tags[0] + _scalar(value) + tags[1])


def _write_items(
    key: str, tags: tuple[str, str, str, str], items: list | tuple, out: list[str]
) -> None:
    add = out.append
    if not items:
        add(tags[3])
    for item in items:
        kind = type(item)
        if kind is dict or (kind is not str and isinstance(item, dict)):
            add(tags[2])
            _write(item, out)
            add(tags[1])
        elif kind is str:
            if _needs_escape(item) is not None:
                item = _escape(item)
            add(f"<{key} array='true'>{item}</{key}>")
        elif isinstance(item, list | tuple):
            raise _Unencodable("arrays of arrays cannot be written as XML")
        else:
            add(tags[2] + _scalar(item) + tags[1])


def encode_xml_element(name: str, value: object, *, array: bool = False) -> bytes:
    """One element as it appears inside <xml>; batching joins these without re-encoding."""
    element = {name: [value] if array else value}
    out: list[str] = []
    try:
        _write(element, out)
    except (_Unencodable, RecursionError):
        raise PayloadError(_unencodable_message(element)) from None
    return "".join(out).encode("utf-8")


def encode_xml(payload: dict) -> bytes:
    """Altcraft XML: root <xml>, arrays as repeated elements marked array='true'."""
    if not isinstance(payload, dict):
        raise PayloadError("only an object can be written as XML")
    out = ["<xml>"]
    try:
        _write(payload, out)
    except (_Unencodable, RecursionError):
        raise PayloadError(_unencodable_message(payload)) from None
    out.append("</xml>")
    return "".join(out).encode("utf-8")


def encode(payload: dict, fmt: str) -> bytes:
    if fmt == "json":
        return encode_json(payload)
    if fmt == "xml":
        return encode_xml(payload)
    raise PayloadError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _unencodable_message(payload: object) -> str:
    return _locate_unencodable(payload) or "nested too deeply to write as XML"


def _locate_unencodable(value: object, path: str = "", depth: int = 0) -> str:
    """Finds the first part the encoder refused (rarely needed, so kept off the fast path)."""
    if depth > 100:
        return "nested more than 100 levels deep, too deep to write as XML"
    children: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            try:
                _tags(key)
            except _Unencodable as exc:
                return f"{join_path(path, str(key))}: {exc}"
            children.append((join_path(path, key), item))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if isinstance(item, list | tuple):
                return f"{path}: arrays of arrays cannot be written as XML"
            children.append((f"{path}[{i}]", item))
    else:
        try:
            _escape(value) if isinstance(value, str) else _scalar(value)
        except _Unencodable as exc:
            return f"{path}: {exc}"
    for child_path, item in children:
        found = _locate_unencodable(item, child_path, depth + 1)
        if found:
            return found
    return ""


# --- Decoding ---------------------------------------------------------------------------


def detect_format(body: bytes, content_type: str | None = None) -> str:
    """'json' or 'xml', from the Content-Type when it names one, else from the first character."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media.endswith("json"):
        return "json"
    if media.endswith("xml"):
        return "xml"
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return "xml"
    if start in (b"{", b"["):
        return "json"
    raise PayloadError("cannot tell whether the body is JSON or XML")


def _decode_xml(body: bytes, schema: object, max_elements: int | None = None) -> dict:
    try:
        return parse_xml(body, schema, max_elements=max_elements)  # type: ignore[arg-type]
    except SAXParseException as exc:
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber() + 1}"
        raise PayloadError(f"malformed XML: {exc.getMessage()} at {where}") from None
    except DefusedXmlException as exc:
        raise PayloadError(
            "XML with a document type declaration or entities is refused: they can expand "
            f"into an XML bomb or read external files ({type(exc).__name__})"
        ) from None
    except XMLRefused as exc:
        raise PayloadError(str(exc)) from None


def decode(
    body: bytes,
    fmt: str,
    *,
    operation: str | None = None,
    custom_field_types: dict[str, str] | None = None,
    max_depth: int | None = None,
    max_elements: int | None = None,
) -> dict:
    """A request body as the dict JSON would give; XML values are typed by the contract.

    For bodies a person pastes: max_depth refuses JSON nested deeper, max_elements XML with
    more elements (XML never nests more than xmlparse.MAX_DEPTH)."""
    if fmt == "json":
        payload = decode_json(body, max_depth=max_depth)
        if not isinstance(payload, dict):
            raise PayloadError("the JSON body must be an object ({...})")
        return payload
    if fmt != "xml":
        raise PayloadError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    payload = _decode_xml(body, request_schema(operation, custom_field_types), max_elements)
    value = payload.get("field_value")
    field = payload.get("field_name")
    # field_value is typed by the field it names, which is only known once parsed.
    if (
        isinstance(value, str)
        and isinstance(field, str)
        and (custom_field_types or {}).get(field) == "int"
        and re.fullmatch(r"-?[0-9]+", value)
    ):
        payload["field_value"] = int(value)
    return payload


def decode_response(body: bytes, fmt: str, *, method: str | None = None) -> dict:
    """An Altcraft answer: ``result`` of batches and ``data`` of list methods are lists."""
    if fmt == "json":
        answer = decode_json(body)
        if not isinstance(answer, dict):
            raise PayloadError("the JSON response must be an object ({...})")
    elif fmt == "xml":
        answer = _decode_xml(body, RESPONSE)
        # The documented add_batch XML answer nests result items as <xml> elements.
        if "xml" in answer and "result" not in answer:
            nested = answer.pop("xml")
            answer["result"] = nested if isinstance(nested, list) else [nested]
    else:
        raise PayloadError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if "result" in answer and not isinstance(answer["result"], list):
        answer["result"] = [answer["result"]]
    listing = (
        normalize_path(method).endswith("/list")
        if method
        else any(k in answer for k in ("next_from_id", "total_count", "total"))
    )
    if listing and "data" in answer and not isinstance(answer["data"], list):
        data = answer["data"]
        answer["data"] = [] if data in ("", {}) else [data]
    return answer
