"""The profile page's forms: which customer to look up, and each change to send."""

from typing import Any

from django import forms

from altcraft.live_profile import STATUS_CHOICES, Identifier
from profiles_ui import catalog
from profiles_ui.connections import Connection, get_connection


class LookupForm(forms.Form):
    """Exactly one identifier, and where to look (defaults: active connection, first DB)."""

    email = forms.CharField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=32)
    profile_id = forms.CharField(required=False, max_length=64)
    field_name = forms.CharField(required=False, max_length=100)
    field_value = forms.CharField(required=False, max_length=254)
    db_id = forms.IntegerField(required=False, min_value=1)
    connection = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, default_connection: Connection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default_connection = default_connection

    def clean_connection(self) -> Connection:
        name = self.cleaned_data.get("connection")
        if not name:
            return self.default_connection
        chosen = get_connection(name)
        if chosen is None:
            raise forms.ValidationError(f"there is no connection named {name!r}")
        return chosen

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        given = [k for k in ("email", "phone", "profile_id") if cleaned.get(k, "").strip()]
        name, value = cleaned.get("field_name", "").strip(), cleaned.get("field_value", "").strip()
        if name or value:
            if not (name and value):
                self.add_error(
                    "field_value" if name else "field_name", "give both field_name and field_value"
                )
                return cleaned
            given.append("field")
        if len(given) != 1:
            raise forms.ValidationError(
                "Give exactly one of email, phone, profile_id, or field_name with field_value."
            )
        kind = given[0]
        value = cleaned[kind].strip() if kind != "field" else value
        cleaned["identifier"] = Identifier(kind, value, name if kind == "field" else "")
        connection = cleaned.get("connection")
        if isinstance(connection, Connection) and not cleaned.get("db_id"):
            databases = catalog.databases(connection).items
            if not databases:
                raise forms.ValidationError(f"{connection.label} lists no database; give db_id.")
            cleaned["db_id"] = databases[0].id
        return cleaned


class SubscriptionForm(forms.Form):
    """One subscription's new status, priority, categories and fields (subscriptions/set)."""

    index = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        required=False, choices=[("", "Keep as it is"), *[(s, s) for s in STATUS_CHOICES]]
    )
    priority = forms.IntegerField(required=False, min_value=0, max_value=1_000_000)
    cats = forms.CharField(
        required=False, max_length=1000, help_text="Categories, separated by commas."
    )
    custom_fields = forms.JSONField(
        required=False, help_text='Subscription fields as a JSON object, e.g. {"level": 2}.'
    )

    def clean_custom_fields(self) -> dict | None:
        value = self.cleaned_data.get("custom_fields")
        if value in (None, ""):
            return None
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object")
        return value

    def changes(self, sub: dict[str, Any]) -> dict[str, Any]:
        """Only what differs from the subscription as read."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        if data.get("status") and data["status"] != sub.get("status"):
            changes["status"] = data["status"]
        if data.get("priority") is not None and data["priority"] != sub.get("priority"):
            changes["priority"] = data["priority"]
        if data.get("cats") is not None and self["cats"].value() is not None:
            cats = [c.strip() for c in data["cats"].split(",") if c.strip()]
            if cats != list(sub.get("cats") or []):
                changes["cats"] = cats
        if data.get("custom_fields") is not None:
            changes["custom_fields"] = data["custom_fields"]
        return changes


class DeleteForm(forms.Form):
    confirm = forms.CharField(label="Type the profile's email or ID to confirm", max_length=254)

    def __init__(self, *args, profile: dict[str, Any], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.profile = profile

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        accepted = {str(self.profile.get("id") or ""), str(self.profile.get("email") or "")}
        if not typed or typed.lower() not in {a.lower() for a in accepted if a}:
            raise forms.ValidationError("this is neither the profile's email nor its ID")
        return typed
