"""E.164 phone numbers, as phonenumbers judges them."""

import pytest

from altcraft.formats import phone_problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("+79000000000", None),  # documented
        ("+79511059000", None),  # documented
        ("+74951234567", None),  # Moscow, fixed line
        ("+390612345678", None),  # Italy keeps its leading zero
        ("+77012345678", None),  # Kazakhstan, which shares +7 with Russia
        ("+16135550123", None),  # Canada, which shares +1 with 24 other regions
        ("+70000000000", "not a valid E.164 phone number"),  # an unallocated range
        ("+99912345678", "not a valid E.164 phone number"),  # no such country code
        ("+12", "not a valid E.164 phone number"),  # too short to be a number
        ("+7", "not a valid E.164 phone number (+ and country code, digits only)"),
        (79000000000, "not a valid E.164 phone number (+ and country code, digits only)"),
    ],
)
def test_phone_problems(value, problem):
    assert phone_problem(value) == problem
