"""Fixtures of the bulk tests."""

import pytest

from tests.helpers import IMMEDIATE_TASKS


@pytest.fixture
def support(client_for, sandbox, settings):
    """Support staff, with tasks run at once: a batch is checked and sent within the request."""
    settings.TASKS = IMMEDIATE_TASKS
    return client_for("support")
