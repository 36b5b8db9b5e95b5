"""Application error codes Altcraft puts in the ``error`` field of a response (contract §7)."""

ERROR_CODES: dict[int, str] = {
    0: "Success",
    400: "Malformed or incorrect request",
    450: "Malformed or incorrect request",
    401: "API token required",
    402: "Tariff limit reached",
    403: "No rights for this action",
    404: "Object not found within the token's visibility",
    409: "Another record with the same unique attributes exists",
    413: "Database not available in the selected resource",
    415: "Requested Content-Type not supported",
    435: "Ambiguous search: several objects match",
    441: "Object belongs to another group",
    500: "Internal service error",
    501: "Method does not exist",
}


def describe_error(code: int) -> str:
    """Human text for an ``error`` code; codes Altcraft does not document are named as such."""
    try:
        return ERROR_CODES[code]
    except (KeyError, TypeError):
        return f"Undocumented error code {code!r}"
