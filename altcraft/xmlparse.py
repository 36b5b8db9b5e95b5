"""Parsing Altcraft XML into the structure JSON gives, typed by a schema.

defusedxml's SAX reader drives expat and refuses a document type declaration, entity
declarations and external entity references, so no XML bomb and no external entity can
reach us. Names are read as written (no namespace processing). The handler here builds the
dicts as elements close, typing each value by the schema.
"""

from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

from defusedxml.expatreader import DefusedExpatParser

from .fields import is_function
from .schema import CONVERT, GENERIC, STR, Arr, Node, Obj, function_value_node, retype

__all__ = ["MAX_DEPTH", "ROOT", "SAXParseException", "XMLRefused", "parse_xml"]

MAX_DEPTH = 64
ROOT = "xml"


class XMLRefused(ValueError):
    """Input that is well-formed XML but not acceptable (root name, nesting depth)."""


def parse_xml(body: bytes | str, schema: Obj, *, max_elements: int | None = None) -> dict:
    """The <xml> root's content as a dict; with max_elements, refused past that many elements.

    Raises SAXParseException (malformed XML), XMLRefused, or defusedxml's DTDForbidden,
    EntitiesForbidden and ExternalReferenceForbidden.
    """
    builder = _DictBuilder(schema, max_elements)
    parser = DefusedExpatParser(forbid_dtd=True)
    parser.setContentHandler(builder)
    parser.feed(body)
    parser.close()
    return builder.result()


class _DictBuilder(ContentHandler):
    """Builds the dicts as the reader reports each element's start, text and end."""

    def __init__(self, schema: Obj, max_elements: int | None) -> None:
        super().__init__()
        self.elements_left = max_elements
        self.text: list[str] = []
        # One frame per open element, with what its end needs worked out at its start:
        # (parent dict, parent node, name, converter, listed, empty-means-[]).
        self.stack: list[tuple] = []
        self.current: dict = {}
        self.current_node = Obj({ROOT: schema}, GENERIC)

    def startElement(self, name: str, attrs) -> None:  # noqa: N802 - SAX's name
        if len(self.stack) >= MAX_DEPTH:
            raise XMLRefused(f"elements are nested more than {MAX_DEPTH} deep")
        if self.elements_left is not None:
            self.elements_left -= 1
            if self.elements_left < 0:
                raise XMLRefused("too many elements for one profile: batches go in bulk files")
        parent_node = self.current_node
        plan = parent_node.plans.get(name) or _plan(parent_node, name)
        marked = attrs.get("array") == "true"
        if plan[2]:
            self.stack.append((self.current, parent_node, name, plan[1], True, not marked))
        else:
            self.stack.append((self.current, parent_node, name, plan[1], marked, False))
        self.current = {}
        self.current_node = plan[0]
        self.text.clear()

    def characters(self, text: str) -> None:
        self.text.append(text)

    def endElement(self, _name: str) -> None:  # noqa: N802 - SAX's name
        parent, parent_node, name, convert, listed, empty_is_list = self.stack.pop()
        if self.current:
            value: object = self.current
            if parent_node.functional and is_function(value):
                value = _typed_function(value, parent_node.fields.get(name, parent_node.default))
                listed = listed and not empty_is_list
        else:
            content = "".join(self.text)
            if convert is None:
                value = content
            elif convert is _OBJECT:
                value = content if content.strip() else {}
            else:
                value = convert(content)
            if empty_is_list and not content and name not in parent:
                value, listed = [], False
        self.text.clear()
        self.current, self.current_node = parent, parent_node
        if name not in parent:
            parent[name] = [value] if listed else value
        elif type(existing := parent[name]) is list:
            existing.append(value)
        else:
            parent[name] = [existing, value]

    def result(self) -> dict:
        name, content = next(iter(self.current.items()))
        if name != ROOT:
            raise XMLRefused(f"the root element must be <{ROOT}>, not <{name}>")
        # With array='true' the root would be a list, and without children a string.
        return content if isinstance(content, dict) else {}


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
