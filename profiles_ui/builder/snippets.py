"""What the preview offers besides the payload: cURL and Python snippets that send it, and
the sentence the production confirmation step shows."""

from typing import Any

from altcraft.matching import MATCHING_KEYS
from altcraft.operations import Operation

TOKEN_ENV = "ALTCRAFT_TOKEN"  # noqa: S105 - the name of a variable, not a token
# A fresh UUID in any POSIX shell: Linux's kernel makes one, macOS has uuidgen, and Python
# is the last resort (uuidgen is missing from many Linux images).
REQUEST_ID_SHELL = (
    "cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen 2>/dev/null"
    " || python3 -c 'import uuid; print(uuid.uuid4())'"
)


def curl_command(url: str, body: bytes, fmt: str, *, bearer: bool) -> str:
    """A cURL command sending `body`, with $ALTCRAFT_TOKEN expanded by the shell."""
    content_type = "application/json" if fmt == "json" else "application/xml"
    text = body.decode()
    # An unquoted heredoc expands $VAR, `...` and backslashes: escape all but our variable.
    escaped = text.replace("\\", "\\\\").replace("`", "\\`").replace("$", "\\$")
    escaped = escaped.replace(f"\\${TOKEN_ENV}", f"${TOKEN_ENV}")
    lines = [
        f"curl -sS -X POST '{url}' \\",
        f"  -H 'Content-Type: {content_type}' \\",
        f'  -H "Request-ID: $({REQUEST_ID_SHELL})" \\',
    ]
    if bearer:
        lines.append(f'  -H "Authorization: Bearer ${TOKEN_ENV}" \\')
    lines += ["  --data-binary @- <<EOF", escaped, "EOF"]
    return "\n".join(lines)


def python_snippet(url: str, body: bytes, fmt: str, *, bearer: bool) -> str:
    content_type = "application/json" if fmt == "json" else "application/xml"
    token = f'os.environ["{TOKEN_ENV}"]'
    lines = [
        "import os",
        "import uuid",
        "",
        "import requests",
        "",
        f"body = {body.decode()!r}",
        "headers = {",
        f'    "Content-Type": "{content_type}",',
        '    "Request-ID": str(uuid.uuid4()),',
    ]
    if bearer:
        lines.append(f'    "Authorization": "Bearer " + {token},')
    lines.append("}")
    if not bearer:
        lines.append(f'body = body.replace("${TOKEN_ENV}", {token})')
    lines += [
        f'response = requests.post("{url}", data=body.encode(), headers=headers, timeout=60)',
        "print(response.status_code, response.text)",
    ]
    return "\n".join(lines)


VERBS = {
    "profiles/import": "import",
    "profiles/update": "update",
    "profiles/add": "add",
    "workflows/import_and_start": "import",
}


def summary(
    operation: Operation,
    payload: dict[str, Any],
    *,
    connection_label: str,
    production: bool,
    database: str,
    scenario: str,
) -> str:
    """One sentence saying what sending will do, for the production confirmation step."""
    verb = VERBS.get(operation.path, operation.label.lower())
    where = f"{connection_label} (production)" if production else connection_label
    parts = [f"{verb.capitalize()} into database {database} on {where}"]
    if operation.takes_matching:
        mode = payload.get("matching") or "email"
        values = " / ".join(
            str(payload[key]) for key in MATCHING_KEYS if key in payload and payload[key] != ""
        )
        parts.append(f"matching by {mode} {values}".rstrip())
    data = payload.get("data")
    subs = data.get("subscriptions", []) if isinstance(data, dict) else []
    if subs:
        channels = ", ".join(str(s.get("channel", "?")) for s in subs if isinstance(s, dict))
        parts.append(f"with {len(subs)} subscription{'s' if len(subs) != 1 else ''} ({channels})")
    if operation.needs_workflow_id:
        parts.append(f"starting scenario {scenario}")
    return ", ".join(parts) + "."
