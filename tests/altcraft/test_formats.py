"""E.164 phone numbers, as phonenumbers judges them."""

import pytest

from altcraft import formats
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


@pytest.mark.parametrize(
    ("written", "region", "sent"),
    [
        ("8 (903) 157-19-45", "RU", "+79031571945"),
        ("+7 989 9142600", "RU", "+79899142600"),
        ("79207090293", "RU", "+79207090293"),
        ("8-945-577-0619", "RU", "+79455770619"),
        ("9031571945", "RU", "+79031571945"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "RU", "+442079460958"),
        ("79207090293", None, "+79207090293"),
    ],
)
def test_phones_as_people_write_them_become_e164(written, region, sent):
    assert formats.normalise_phone(written, region) == sent
    assert formats.phone_problem(sent) is None


def test_the_e164_form_a_written_phone_became_is_validated_without_parsing_again(monkeypatch):
    parsed = []
    parse = formats.phonenumbers.parse
    monkeypatch.setattr(
        formats.phonenumbers, "parse", lambda *args: parsed.append(args) or parse(*args)
    )
    sent = formats.normalise_phone("8 (916) 765-43-02", "RU")
    assert (sent, formats.phone_problem(sent)) == ("+79167654302", None)
    assert parsed == [("8 (916) 765-43-02", "RU")]
    assert formats.phone_problem("+7916765430") == "not a valid E.164 phone number"
    assert len(parsed) == 2


@pytest.mark.parametrize("written", ["", "123", "abc", "+", "8 (000) 000-00-00", "9" * 80])
def test_numbers_phonenumbers_finds_invalid_stay_refused(written):
    assert formats.normalise_phone(written, "RU") is None
