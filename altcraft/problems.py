"""The (path, message) pairs validation returns, and how paths are spelled."""

import re
from typing import NamedTuple

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Problem(NamedTuple):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def join_path(prefix: str, key: object) -> str:
    """data + subscriptions -> data.subscriptions; data.subscriptions + 2 -> ...[2]."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if not (isinstance(key, str) and _PLAIN_KEY.fullmatch(key)):
        # Keys that are not plain words are quoted so the path stays unambiguous.
        return f"{prefix}[{str(key)!r}]"
    return f"{prefix}.{key}" if prefix else key
