"""Parsing Altcraft XML into the structure JSON gives, typed by a schema, in one pass.

defusedxml's ElementTree parser runs expat through a pure-Python tree builder (about
15 MB/s here) and a tree then still has to become dicts. This module drives expat
directly and builds the dicts as elements close, with the same refusals defusedxml
applies: no DTD at all (so no entity declarations, no XML bombs, no external entities)
and no external entity references, reported with defusedxml's own exception types.
"""

from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from .fields import is_function
from .schema import CONVERT, GENERIC, STR, Arr, Node, Obj, function_value_node, retype

MAX_DEPTH = 64
ROOT = "xml"


class XMLRefused(ValueError):
    """Input that is well-formed XML but not acceptable (root name, nesting depth)."""


def _refuse_dtd(name: str, sysid: str | None, pubid: str | None, has_internal: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(name: str, *args: object) -> None:
    raise EntitiesForbidden(name, None, None, None, None, None)


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def parse_xml(body: bytes | str, schema: Obj) -> dict:
    """The <xml> root's content as a dict; raises ExpatError, XMLRefused or defusedxml errors."""
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
    # (parent dict, parent node, name, item node, converter, listed, empty-means-[]).
    stack: list[tuple] = []
    push, pop = stack.append, stack.pop
    current: dict = {}
    current_node: Node = Obj({ROOT: schema}, GENERIC)

    def start(name: str, attrs: list[str]) -> None:
        nonlocal current, current_node
        if len(stack) >= MAX_DEPTH:
            raise XMLRefused(f"elements are nested more than {MAX_DEPTH} deep")
        parent_node = current_node if type(current_node) is Obj else GENERIC
        plan = parent_node.plans.get(name) or _plan(parent_node, name)
        item = plan[0]
        if plan[2]:
            push((current, parent_node, name, item, plan[1], True, not attrs or not _marked(attrs)))
        else:
            push((current, parent_node, name, item, plan[1], bool(attrs) and _marked(attrs), False))
        current = {}
        current_node = item
        if text:
            clear_text()

    def end(name: str) -> None:
        nonlocal current, current_node
        parent, parent_node, name, item, convert, listed, empty_is_list = pop()
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
                value = content if item.loose or content.strip() else {}
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


_OBJECT = object()
# None: the text is the value (strings, and what no schema knows).
_CONVERTERS: dict[object, object] = {kind: fn for kind, fn in CONVERT.items() if kind != STR}


def _plan(parent: Obj, name: str) -> tuple[Node, object, bool]:
    """(item node, converter, is array) for a child element; cached on the parent node."""
    node = parent.fields.get(name, parent.default)
    item = node.item if type(node) is Arr else node
    convert = _OBJECT if type(item) is Obj else _CONVERTERS.get(item)  # type: ignore[arg-type]
    plan = (item, convert, type(node) is Arr)
    if len(parent.plans) < 1_000:  # names come from the input: keep the cache bounded
        parent.plans[name] = plan
    return plan


def _marked(attrs: list[str]) -> bool:
    for i in range(0, len(attrs), 2):
        if attrs[i] == "array":
            return attrs[i + 1] == "true"
    return False


def _typed_function(function: dict, field: Node) -> dict:
    """Types a functional update's value by its action (incr takes a number, add a list...)."""
    if "value" in function:
        function["value"] = retype(
            function["value"], function_value_node(function["action"], field)
        )
    return function
