"""Parsing Altcraft XML into the structure JSON gives, typed by a schema.

Two parsers give the same answers. The fast one lets ElementTree's C parser build a tree,
so that no Python code runs for each element while expat reads, and turns the tree into
dicts in one recursive walk, with the garbage collector paused. The body is fed in small
chunks, and after each one the root's finished children are walked and dropped, so the
tree stays small and in the CPU cache. It takes only bytes whose prolog (what comes
before the root element, read with a regular expression first) holds no DTD and names
no encoding but UTF-8. With no DTD nothing can declare an entity, so no XML bomb and no
external entity can reach expat.

Everything else goes to the general parser, which drives expat with Python callbacks,
builds the dicts as elements close and refuses a DTD, an entity declaration or an
external entity reference with defusedxml's own exception types. So does anything the
fast parser cannot read exactly as the general one would: malformed XML, which thus gets
the general parser's message and position, and namespaces, which ElementTree resolves
and the general parser leaves as written. The general parser is about half as fast.
"""

import re
from collections.abc import Iterable
from xml.etree import ElementTree
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from .collector import gc_paused
from .fields import is_function
from .schema import CONVERT, GENERIC, STR, Arr, Node, Obj, function_value_node, retype

MAX_DEPTH = 64
ROOT = "xml"


# From this size on, a parsed body skips the young generations (see gc_paused); smaller
# ones gain little, and a stream of them would keep other code's young cycles waiting for
# a full collection.
_LARGE_BODY = 256 * 1024


class XMLRefused(ValueError):
    """Input that is well-formed XML but not acceptable (root name, nesting depth)."""


def parse_xml(body: bytes | str, schema: Obj) -> dict:
    """The <xml> root's content as a dict; raises ExpatError, XMLRefused or defusedxml errors."""
    if isinstance(body, bytes) and _plain_prolog(body):
        try:
            with gc_paused(keep_result=len(body) >= _LARGE_BODY):
                return _parse_tree(body, schema)
        except (ElementTree.ParseError, _Namespaced):
            pass  # the general parser gives its own error, or keeps the names as written
    return _parse_expat(body, schema)


# --- Fast parser: ElementTree's tree, walked as it grows ------------------------------

# What may come before the root element: a UTF-8 byte order mark, then white space,
# comments and processing instructions (the XML declaration among them). Each part ends
# at its first possible end and none can contain "<!", so no DOCTYPE hides inside one.
_PROLOG = re.compile(
    rb"(?:\xef\xbb\xbf)?"
    rb"(?:[ \t\r\n]|<!--(?:[^-]|-[^-])*-->|<\?(?:[^?]|\?(?!>))*\?>)*+"
    rb"<[^!?]"
)
_ENCODING = re.compile(rb"""encoding[ \t\r\n]*=[ \t\r\n]*["']([^"']*)["']""")


def _plain_prolog(body: bytes) -> bool:
    """No DTD before the root element (none can come after it) and no encoding but UTF-8."""
    prolog = _PROLOG.match(body)
    if prolog is None:
        return False
    encoding = _ENCODING.search(prolog.group())
    return encoding is None or encoding[1].lower() == b"utf-8"


class _Namespaced(Exception):
    """A name ElementTree resolved as {uri}name, which the general parser leaves as written."""


# Small enough that a chunk's elements are still in the CPU cache when they are walked.
_CHUNK = 16 * 1024


def _parse_tree(body: bytes, schema: Obj) -> dict:
    builder = ElementTree.TreeBuilder()
    # A parent for the root that the builder hands back, so that the root's finished
    # children can be walked and dropped while the rest of the body is still unread.
    holder = builder.start("", {})
    parser = ElementTree.XMLParser(target=builder)  # noqa: S314 - the prolog has no DTD
    content: dict = {}
    root = node = None
    data = memoryview(body)
    for start in range(0, len(data), _CHUNK):
        parser.feed(data[start : start + _CHUNK])
        if root is None:
            if not len(holder):
                continue
            root = holder[0]
            node = schema if root.tag == ROOT else GENERIC
        if len(root) > 1:  # all children but the last are finished: a later one has begun
            finished = root[:-1]
            del root[:-1]
            _fill(content, finished, node, 1)
    parser.close()
    if root is None:
        root = holder[0]
        node = schema if root.tag == ROOT else GENERIC
    _fill(content, root[:], node, 1)
    if root.tag[0] == "{":
        raise _Namespaced(root.tag)
    if root.tag != ROOT:
        raise XMLRefused(f"the root element must be <{ROOT}>, not <{root.tag}>")
    # With array='true' the root would be a list, and without children a string.
    return content if content and root.get("array") != "true" else {}


def _fill(out: dict, elements: Iterable[ElementTree.Element], node: Obj, level: int) -> dict:
    """Adds these children of an element at ``level`` (the root's is 1) to out, typed by node."""
    if level >= MAX_DEPTH:
        raise XMLRefused(f"elements are nested more than {MAX_DEPTH} deep")
    plans = node.plans
    for child in elements:
        name = child.tag
        try:
            inner, convert, is_array = plans[name]
        except KeyError:
            inner, convert, is_array = _tree_plan(node, name)
        mark = child.get("array")
        if len(child):
            # A slice, unlike an Element, is iterated without an IndexError at its end.
            value: object = _fill({}, child[:], inner, level + 1)
            listed = is_array or mark == "true"
            if node.functional and "action" in value and is_function(value):
                value = _typed_function(value, node.fields.get(name, node.default))
                listed = mark == "true"
        else:
            value = child.text
            if value is None:
                value = ""
                if is_array and mark != "true" and name not in out:
                    out[name] = []  # an empty element is an empty array, unless marked
                    continue
            if convert is not None:
                value = convert(value) if convert is not _OBJECT else value if value.strip() else {}
            if mark is None and not is_array and name not in out:
                out[name] = value  # the usual case, taken first
                continue
            listed = is_array or mark == "true"
        if name not in out:
            out[name] = [value] if listed else value
        elif type(existing := out[name]) is list:
            existing.append(value)
        else:
            out[name] = [existing, value]
    return out


def _tree_plan(parent: Obj, name: str) -> tuple[Obj, object, bool]:
    if name[0] == "{":
        raise _Namespaced(name)
    return _plan(parent, name)


# --- General parser: expat with Python callbacks --------------------------------------


def _refuse_dtd(name: str, sysid: str | None, pubid: str | None, has_internal: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(name: str, *args: object) -> None:
    raise EntitiesForbidden(name, None, None, None, None, None)


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _parse_expat(body: bytes | str, schema: Obj) -> dict:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    text: list[str] = []
    clear_text = text.clear
    join = "".join
    # One frame per open element, with what its end needs worked out at its start:
    # (parent dict, parent node, name, converter, listed, empty-means-[]).
    stack: list[tuple] = []
    push, pop = stack.append, stack.pop
    current: dict = {}
    current_node = Obj({ROOT: schema}, GENERIC)

    def start(name: str, attrs: list[str]) -> None:
        nonlocal current, current_node
        if len(stack) >= MAX_DEPTH:
            raise XMLRefused(f"elements are nested more than {MAX_DEPTH} deep")
        parent_node = current_node
        plan = parent_node.plans.get(name) or _plan(parent_node, name)
        if plan[2]:
            push((current, parent_node, name, plan[1], True, not attrs or not _marked(attrs)))
        else:
            push((current, parent_node, name, plan[1], bool(attrs) and _marked(attrs), False))
        current = {}
        current_node = plan[0]
        if text:
            clear_text()

    def end(name: str) -> None:
        nonlocal current, current_node
        parent, parent_node, name, convert, listed, empty_is_list = pop()
        if current:
            value: object = current
            if parent_node.functional and is_function(value):
                value = _typed_function(value, parent_node.fields.get(name, parent_node.default))
                listed = listed and not empty_is_list
        else:
            content = join(text) if text else ""
            if convert is None:
                value = content
            elif convert is _OBJECT:
                value = content if content.strip() else {}
            else:
                value = convert(content)
            if empty_is_list and not content and name not in parent:
                value, listed = [], False
            clear_text()
        current, current_node = parent, parent_node
        if name not in parent:
            parent[name] = [value] if listed else value
        else:
            existing = parent[name]
            if type(existing) is list:
                existing.append(value)
            else:
                parent[name] = [existing, value]

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    parser.Parse(body, True)
    name, content = next(iter(current.items()))
    if name != ROOT:
        raise XMLRefused(f"the root element must be <{ROOT}>, not <{name}>")
    return content if isinstance(content, dict) else {}


def _marked(attrs: list[str]) -> bool:
    for i in range(0, len(attrs), 2):
        if attrs[i] == "array":
            return attrs[i + 1] == "true"
    return False


# --- Shared by both ------------------------------------------------------------------

_OBJECT = object()
# None: the text is the value (strings, and what no schema knows).
_CONVERTERS: dict[object, object] = {kind: fn for kind, fn in CONVERT.items() if kind != STR}


def _plan(parent: Obj, name: str) -> tuple[Obj, object, bool]:
    """(node of its children, converter of its text, is array) for a child element; cached."""
    node = parent.fields.get(name, parent.default)
    item = node.item if type(node) is Arr else node
    if type(item) is Obj:
        # Text alone is kept in a loose object, as in a string; else blank text is {}.
        plan = (item, None if item.loose else _OBJECT, type(node) is Arr)
    else:
        plan = (GENERIC, _CONVERTERS.get(item), type(node) is Arr)  # type: ignore[arg-type]
    if len(parent.plans) < 1_000:  # names come from the input: keep the cache bounded
        parent.plans[name] = plan
    return plan


def _typed_function(function: dict, field: Node) -> dict:
    """Types a functional update's value by its action (incr takes a number, add a list...)."""
    if "value" in function:
        function["value"] = retype(
            function["value"], function_value_node(function["action"], field)
        )
    return function
