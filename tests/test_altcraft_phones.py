"""E.164 phone numbers: the short way through parse gives what phonenumbers.parse gives."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles_ui.altcraft.formats import parse_e164, phone_problem

COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def outcome(parse, value: str) -> tuple:
    """What a parser makes of a value: its number and validity, or its error."""
    try:
        number = parse(value)
    except phonenumbers.NumberParseException as exc:
        return ("error", exc.error_type)
    return ("number", number, phonenumbers.is_valid_number(number))


def ours(value: str) -> tuple:
    return outcome(parse_e164, value)


def theirs(value: str) -> tuple:
    return outcome(lambda v: phonenumbers.parse(v, None), value)


# Every country code, then digits: national prefixes (0, 8, 1...), carrier codes, leading
# zeros and too-short numbers all come up, and each must be read exactly as parse reads it.
@settings(max_examples=3_000, deadline=None)
@given(st.sampled_from(COUNTRY_CODES), st.text(alphabet="0123456789", max_size=14))
def test_any_e164_value_reads_as_parse_reads_it(country_code, digits):
    value = f"+{country_code}{digits}"[:16]
    assert ours(value) == theirs(value)


@given(st.text(alphabet="0123456789", min_size=1, max_size=15).filter(lambda d: d[0] != "0"))
def test_unknown_country_codes_read_as_parse_reads_them(digits):
    value = f"+{digits}"
    assert ours(value) == theirs(value)


NUMBER_TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.VOIP,
]


def example_numbers() -> list[str]:
    """The example number of each type of every region phonenumbers knows, in E.164."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in NUMBER_TYPES:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                found.append(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    return found


EXAMPLES = example_numbers()


def test_every_example_number_of_every_region_reads_as_parse_reads_it():
    assert len(EXAMPLES) > 500
    for value in EXAMPLES:
        assert ours(value) == theirs(value), value


# Example numbers with their last digits changed: mostly valid, in every region.
@settings(max_examples=3_000, deadline=None)
@given(st.sampled_from(EXAMPLES), st.text(alphabet="0123456789", min_size=1, max_size=4))
def test_example_numbers_with_other_last_digits_read_as_parse_reads_them(example, digits):
    value = example[: -len(digits)] + digits
    assert ours(value) == theirs(value)


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
    ],
)
def test_phone_problems(value, problem):
    assert phone_problem(value) == problem
