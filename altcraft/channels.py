"""Subscription channels, their identifier keys and subscription statuses (contract §5)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    name: str
    label: str
    # Dotted paths of the keys that identify the subscription in single-profile requests.
    identifier_keys: tuple[str, ...]
    # What each identifier holds: "email", "phone" (E.164), "int" or "string".
    identifier_formats: tuple[str, ...]
    # Other accepted shapes in batch requests (§13): the console sends the first form of
    # ``batch_identifier_keys``; the sandbox also accepts the alternatives.
    batch_identifier_keys: tuple[str, ...]
    batch_alternative_keys: tuple[str, ...] = ()


CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (
        Channel("email", "Email", ("email",), ("email",), ("email_data.email",), ("email",)),
        Channel("sms", "SMS", ("phone",), ("phone",), ("phone",), ("phone_data.phone",)),
        Channel(
            "push",
            "Push",
            ("provider", "subscription_id"),
            ("string", "string"),
            ("provider", "subscription_id"),
        ),
        Channel("telegram_bot", "Telegram bot", ("cc_data.id",), ("int",), ("cc_data.id",)),
        Channel("whatsapp", "WhatsApp", ("cc_data.phone",), ("phone",), ("cc_data.phone",)),
        Channel("viber", "Viber", ("cc_data.phone",), ("phone",), ("cc_data.phone",)),
        Channel("notify", "Notify", ("cc_data.phone",), ("phone",), ("cc_data.phone",)),
    )
}

SUBSCRIPTION_STATUSES: dict[str, int] = {
    "subscribed": 0,
    "unsubscribed": 1,
    "complained": 2,
    "hardbounced": 3,
    "unconfirmed": 4,
    "suspended": 5,
    "invalid": 6,
}
STATUS_WORDS: dict[int, str] = {number: word for word, number in SUBSCRIPTION_STATUSES.items()}

# Confirmed by the official SDKs (§5.4); web push uses browser names, so any non-empty
# provider string is accepted and these only feed suggestions.
PUSH_PROVIDERS: tuple[str, ...] = (
    "android-firebase",
    "android-huawei",
    "android-rustore",
    "ios-apns",
    "ios-firebase",
    "ios-huawei",
)


def channel_keys(channel: Channel) -> frozenset[str]:
    """Top-level subscription keys this channel's identifiers live under (single and batch)."""
    paths = channel.identifier_keys + channel.batch_identifier_keys + channel.batch_alternative_keys
    return frozenset(path.split(".", 1)[0] for path in paths)


def infer_channel(subscription: dict) -> str | None:
    """The channel a subscription without ``channel`` must be, from its identifier keys.

    The documented workflows/import_and_start example sends ``{"email", "resource_id"}``
    with no channel; an email key can only mean email. ``cc_data.phone`` is shared by
    whatsapp, viber and notify, so it cannot be inferred (None).
    """
    if "email" in subscription or "email_data" in subscription:
        return "email"
    if "phone" in subscription or "phone_data" in subscription:
        return "sms"
    if "provider" in subscription or "subscription_id" in subscription:
        return "push"
    cc_data = subscription.get("cc_data")
    if isinstance(cc_data, dict) and "id" in cc_data and "phone" not in cc_data:
        return "telegram_bot"
    return None
