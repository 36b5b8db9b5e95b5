import pytest


@pytest.fixture
def marketer(client_for, sandbox):
    return client_for("marketer")
