"""The 11 matching modes (contract §3) and where each one's lookup values live."""

from dataclasses import dataclass


@dataclass(frozen=True)
class MatchingMode:
    name: str
    description: str
    # Top-level keys a single request must carry.
    required_keys: tuple[str, ...]
    # Top-level keys of which a single request needs at least one.
    any_of_keys: tuple[str, ...]
    # Key inside each batch item that holds the lookup value (None: see the fields below).
    batch_value_key: str | None
    # Batch items need at least one of these keys.
    batch_any_of_keys: tuple[str, ...] = ()
    # Keys that stay at top level in a batch (custom modes name the field there).
    batch_top_level_keys: tuple[str, ...] = ()
    never_creates: bool = False


_EMAIL = ("email",)
_PHONE = ("phone",)
_CUSTOM = ("field_name", "field_value")

MATCHING_MODES: dict[str, MatchingMode] = {
    m.name: m
    for m in (
        MatchingMode(
            "email",
            "finds the profile by its email field or its email subscriptions; creates it if none",
            _EMAIL,
            (),
            "email",
        ),
        MatchingMode(
            "email_profile",
            "finds the profile by its email field only, ignoring subscriptions",
            _EMAIL,
            (),
            "email",
        ),
        MatchingMode(
            "email_sub",
            "finds the profile by its email subscriptions only",
            _EMAIL,
            (),
            "email",
        ),
        MatchingMode(
            "phone",
            "finds the profile by its phone numbers or its SMS subscriptions",
            _PHONE,
            (),
            "phones",
        ),
        MatchingMode(
            "phone_sub",
            "finds the profile by its SMS subscriptions only",
            _PHONE,
            (),
            "phones",
        ),
        MatchingMode(
            "profile_id",
            "finds the profile by its Altcraft profile ID; never creates one",
            ("profile_id",),
            (),
            "profile_id",
            never_creates=True,
        ),
        MatchingMode(
            "push_sub",
            "finds the profile by a push subscription (provider and subscription ID)",
            ("provider", "subscription_id"),
            (),
            None,
        ),
        MatchingMode(
            "custom",
            "finds the profile by the value of one of your own database fields",
            _CUSTOM,
            (),
            None,
            batch_top_level_keys=("field_name",),
        ),
        MatchingMode(
            "custom_sub",
            "finds the profile by a subscription to a custom channel, named by a field and value",
            _CUSTOM,
            (),
            None,
            batch_top_level_keys=("field_name",),
        ),
        MatchingMode(
            "email_phone",
            "finds the profile by its email field or its phone numbers",
            (),
            ("email", "phone"),
            None,
            batch_any_of_keys=("email", "phones"),
        ),
        MatchingMode(
            "email_phone_sub",
            "finds the profile by its email or SMS subscriptions",
            (),
            ("email", "phone"),
            None,
            batch_any_of_keys=("email", "phones"),
        ),
    )
}

DEFAULT_MATCHING = "email"

# Every key any mode reads at top level of a single request.
MATCHING_KEYS: tuple[str, ...] = (
    "email",
    "phone",
    "profile_id",
    "provider",
    "subscription_id",
    "field_name",
    "field_value",
)


def effective_mode(payload: dict, *, update: bool = False) -> str:
    """The mode a request asks for: its ``matching``, else the default.

    An update that names a top-level ``profile_id`` and no ``matching`` (as the documented
    functional-update examples do) is taken as profile_id matching (decisions table, §13).
    """
    mode = payload.get("matching")
    if isinstance(mode, str):
        return mode
    if update and "profile_id" in payload:
        return "profile_id"
    return DEFAULT_MATCHING


def mode_keys(mode: MatchingMode) -> tuple[str, ...]:
    return mode.required_keys + mode.any_of_keys


def matching_values(payload: dict, *, update: bool = False) -> dict:
    """The identifier keys and values a single request is looked up by, e.g. {"email": ...}."""
    mode = MATCHING_MODES.get(effective_mode(payload, update=update))
    if mode is None:
        return {}
    return {key: payload[key] for key in mode_keys(mode) if key in payload}
