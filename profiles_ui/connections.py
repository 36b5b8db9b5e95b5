"""Altcraft connections, defined by the environment and never stored in the database."""

import os
from dataclasses import dataclass
from functools import cache
from typing import Literal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SANDBOX = "sandbox"
SESSION_KEY = "connection"


@dataclass(frozen=True)
class Connection:
    name: str
    label: str
    base_url: str
    token_env: str
    token_placement: Literal["body", "bearer"] = "body"  # noqa: S105 - where, not what
    production: bool = False
    # Region that phones written without a country code are read against (e.g. "RU").
    phone_region: str = "RU"

    def token(self) -> str:
        """Read at send time from the environment; the token is never kept on the object."""
        return os.environ.get(self.token_env, "")


@cache
def phone_regions() -> frozenset[str]:
    """The region codes phonenumbers can read national numbers of."""
    return frozenset(phonenumbers.SUPPORTED_REGIONS)


@cache
def phone_region_choices() -> list[tuple[str, str]]:
    """Every region as a form offers it: "RU (+7)"."""
    return [
        (region, f"{region} (+{phonenumbers.country_code_for_region(region)})")
        for region in sorted(phone_regions())
    ]


def _from_setting(entry: dict) -> Connection:
    try:
        connection = Connection(
            name=str(entry["name"]),
            label=str(entry.get("label") or entry["name"]),
            base_url=str(entry["base_url"]),
            token_env=str(entry["token_env"]),
            token_placement=entry.get("token_placement", "body"),
            production=bool(entry.get("production", False)),
            phone_region=str(entry.get("phone_region") or settings.PHONE_REGION).upper(),
        )
    except (KeyError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"ALTCRAFT_CONNECTIONS: every entry needs name, base_url and token_env ({exc})."
        ) from exc
    if connection.token_placement not in ("body", "bearer"):
        raise ImproperlyConfigured(
            f"ALTCRAFT_CONNECTIONS: {connection.name}: token_placement must be body or bearer."
        )
    if connection.phone_region not in phone_regions():
        raise ImproperlyConfigured(
            f"ALTCRAFT_CONNECTIONS: {connection.name}: phone_region {connection.phone_region!r} "
            "is not a region code phones can be read against (e.g. RU, KZ, US)."
        )
    if connection.name == SANDBOX:
        raise ImproperlyConfigured("ALTCRAFT_CONNECTIONS: the name 'sandbox' is reserved.")
    return connection


def all_connections() -> dict[str, Connection]:
    sandbox = Connection(
        name=SANDBOX,
        label="Sandbox",
        base_url=settings.SANDBOX_BASE_URL,
        token_env=settings.SANDBOX_TOKEN_ENV,
        phone_region=settings.PHONE_REGION.upper(),
    )
    connections = {SANDBOX: sandbox}
    for entry in settings.ALTCRAFT_CONNECTIONS:
        connection = _from_setting(entry)
        connections[connection.name] = connection
    return connections


def get_connection(name: str) -> Connection | None:
    return all_connections().get(name)


def active_connection(session) -> Connection:
    """The connection the user picked in this session, or the sandbox."""
    connections = all_connections()
    return connections.get(session.get(SESSION_KEY, SANDBOX), connections[SANDBOX])
