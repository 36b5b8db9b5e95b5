from django.http import HttpRequest

from profiles_ui import roles
from profiles_ui.connections import active_connection, all_connections


def console(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "active_connection": active_connection(request.session),
        "connections": all_connections().values(),
        "user_role": roles.user_role(request.user),
    }
