"""Request and response bodies as pages show them: indented for reading, highlighted for the
eye. The same for a recorded body and for the builder's preview of one."""

import json
import re
from html import escape
from xml.parsers.expat import ExpatError

from defusedxml import minidom
from django.utils.safestring import SafeString, mark_safe


class Body:
    """A body, indented for reading and highlighted for the eye."""

    def __init__(self, text: str, fmt: str) -> None:
        self.raw = text
        self.format = fmt
        self.pretty = pretty(text, fmt)

    @property
    def html(self) -> SafeString:
        return highlight(self.pretty, self.format)


def pretty(body: str, fmt: str) -> str:
    """Indented text; the body as stored if it does not parse (it is evidence, not input)."""
    try:
        if fmt == "json":
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        if fmt == "xml":
            text = minidom.parseString(body.encode()).toprettyxml(indent="  ")
            return "\n".join(line for line in text.splitlines()[1:] if line.strip())
    except (ValueError, ExpatError):
        pass
    return body


JSON_TOKENS = re.compile(
    r'(?P<string>"(?:\\.|[^"\\])*")(?P<key>\s*:)?'
    r"|(?P<literal>\b(?:true|false|null)\b)"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
)


XML_TOKENS = re.compile(r"(?P<tag><[^>]*>)")


def highlight(text: str, fmt: str) -> SafeString:
    """Wrap tokens in classed spans (CSS colours them); everything else is escaped.

    The standard library's escape, not Django's: the pieces are joined and marked safe
    once, so each of the hundreds of pieces need not be a SafeString of its own."""
    pattern = JSON_TOKENS if fmt == "json" else XML_TOKENS if fmt == "xml" else None
    if pattern is None:
        return mark_safe(escape(text))  # noqa: S308 - escaped
    out, position = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[position : match.start()]))
        kind = match.lastgroup if match.lastgroup != "key" else "key"
        if kind == "key":
            out.append(f'<span class="tok-key">{escape(match["string"])}</span>{match["key"]}')
        else:
            out.append(f'<span class="tok-{kind}">{escape(match.group())}</span>')
        position = match.end()
    out.append(escape(text[position:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above is escaped
