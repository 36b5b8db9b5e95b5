"""E.164 phone numbers: the short ways through parse and is_valid_number give what
phonenumbers.parse and phonenumbers.is_valid_number give."""

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles_ui.altcraft import formats
from profiles_ui.altcraft.formats import is_valid_number, parse_e164, phone_problem

COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def outcome(parse, is_valid, value: str) -> tuple:
    """What a parser and a validity check make of a value: its number and validity, or the
    parser's error."""
    try:
        number = parse(value)
    except phonenumbers.NumberParseException as exc:
        return ("error", exc.error_type)
    return ("number", number, is_valid(number))


def ours(value: str) -> tuple:
    return outcome(parse_e164, is_valid_number, value)


def theirs(value: str) -> tuple:
    return outcome(lambda v: phonenumbers.parse(v, None), phonenumbers.is_valid_number, value)


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


# Every type a number can be valid as: some regions have numbers valid only as voicemail,
# pager or UAN numbers.
NUMBER_TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]


def example_numbers() -> list[str]:
    """The example number of each type of every region phonenumbers knows, and of each
    non-geographic country code (+800, +882...), in E.164."""
    found = []
    for country_code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(country_code)
        if example is not None:
            found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
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
    assert len(EXAMPLES) > 1_000
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


def test_validity_of_numbers_parse_makes_is_that_of_phonenumbers():
    """Every number parse reads, leading zeros (Italy) and national prefixes included."""
    values = [*EXAMPLES, *(v[:-2] + "00" for v in EXAMPLES), *(v[:-1] for v in EXAMPLES)]
    numbers = [phonenumbers.parse(value, None) for value in values]
    assert any(n.italian_leading_zero for n in numbers)
    assert 0 < sum(map(phonenumbers.is_valid_number, numbers)) < len(numbers)
    for value, number in zip(values, numbers, strict=True):
        assert is_valid_number(number) == phonenumbers.is_valid_number(number), value


# The rules below never disagree with phonenumbers' current metadata, so no real number
# shows them; they are what _is_number_matching_desc and region_code_for_number do.
ANY_DIGITS = (frozenset(), re.compile(r"\d+"))


def region(general=ANY_DIGITS, types=(ANY_DIGITS,), leading=None) -> formats._Region:
    leading_digits = re.compile(leading) if leading else None
    return formats._Region(leading_digits, general, tuple(types))


def test_a_number_fits_a_region_only_within_its_general_pattern_and_lengths():
    assert region().fits("123")
    assert not region(general=(frozenset({4}), re.compile(r"\d+"))).fits("123")
    assert not region(general=(frozenset(), re.compile(r"9\d+"))).fits("123")
    assert not region(general=None).fits("123")


def test_a_number_fits_a_region_when_one_of_its_types_takes_it_length_and_all():
    types = [(frozenset({2}), re.compile(r"1\d*")), (frozenset(), re.compile(r"2\d*"))]
    assert region(types=types).fits("12")
    assert not region(types=types).fits("123")  # the first type's pattern, not its length
    assert region(types=types).fits("234")
    assert not region(types=()).fits("234")


def test_a_region_whose_leading_digits_match_takes_the_number_even_when_another_would(
    monkeypatch,
):
    number = phonenumbers.PhoneNumber(country_code=1, national_number=5551234)
    claims_it = region(leading="555", types=[(frozenset(), re.compile(r"9\d*"))])
    monkeypatch.setattr(formats, "_regions_for", lambda _: (None, claims_it, region()))
    assert not is_valid_number(number)
    other = region(leading="777", types=())
    monkeypatch.setattr(formats, "_regions_for", lambda _: (other, region()))
    assert is_valid_number(number)
