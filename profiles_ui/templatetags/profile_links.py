"""Template tags only load from an app's templatetags package; the tags live in profile/."""

from profiles_ui.profile.links import register

__all__ = ["register"]
