"""Cells as people write them, turned into what Altcraft takes: phones against a region,
dates in the format their column is written in, and the common spellings of a gender.

Each reader returns the value to send, or raises CellError with a message in plain words.
"""

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from altcraft.formats import normalise_phone


class CellError(ValueError):
    """A cell that cannot be read; the message says what was expected."""


def phone(text: str, region: str | None) -> str:
    sent = normalise_phone(text, region)
    if sent is None:
        where = f" (read as a number of {region})" if region and text.strip()[:1] != "+" else ""
        raise CellError(f"{text!r} is not a phone number{where}")
    return sent


# --- Dates ---------------------------------------------------------------------------------

_TIME = r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
_DAY_FIRST = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})" + _TIME)


@dataclass(frozen=True)
class DateFormat:
    key: str
    label: str
    example: str  # 17 May 1990 as this format writes it
    pattern: re.Pattern[str]
    order: tuple[int, int, int]  # positions of year, month and day among the groups


DATE_FORMATS: dict[str, DateFormat] = {
    f.key: f
    for f in (
        DateFormat(
            "iso",
            "ISO 8601: 1990-05-17 or 1990-05-17T14:30:00+03:00",
            "1990-05-17",
            re.compile(r"(\d{4})-(\d{2})-(\d{2})" + _TIME.replace("[T ]", "T")),
            (0, 1, 2),
        ),
        DateFormat(
            "ymd_time",
            "year-month-day time: 1990-05-17 14:30[:00]",
            "1990-05-17 14:30",
            re.compile(r"(\d{4})-(\d{2})-(\d{2})" + _TIME.replace("[T ]", " ")),
            (0, 1, 2),
        ),
        DateFormat(
            "dmy_dot",
            "day.month.year: 17.05.1990",
            "17.05.1990",
            re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME.replace("[T ]", " ")),
            (2, 1, 0),
        ),
        DateFormat(
            "dmy_slash",
            "day/month/year: 17/05/1990",
            "17/05/1990",
            re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME.replace("[T ]", " ")),
            (2, 1, 0),
        ),
        DateFormat(
            "mdy_slash",
            "month/day/year: 05/17/1990",
            "05/17/1990",
            re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME.replace("[T ]", " ")),
            (2, 0, 1),
        ),
        DateFormat(
            "unix", "Unix time in seconds: 642902400", "642902400", re.compile(r"-?\d{1,11}"), ()
        ),
    )
}


def date(value: object, format_key: str) -> str:
    """The date as Altcraft takes it: 1990-05-17, or with a time 1990-05-17T14:30:00+03:00
    (a time written without an offset is sent as UTC, as it was written)."""
    fmt = DATE_FORMATS[format_key]
    if fmt.key == "unix" and type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise CellError(f"{value!r} is not a date; expected like {fmt.example}")
    text = value.strip()
    match = fmt.pattern.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        if fmt.key == "unix":
            moment = datetime.datetime.fromtimestamp(int(text), datetime.UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        groups = match.groups()
        year, month, day = (int(groups[i]) for i in fmt.order)
        day_text = datetime.date(year, month, day).isoformat()
        hour, minute, second, offset = groups[3:]
        if hour is None:
            return day_text
        clock = datetime.time(int(hour), int(minute), int(second or 0)).isoformat()
        return f"{day_text}T{clock}{_offset(offset)}"
    except (ValueError, OverflowError, OSError):
        raise CellError(f"{text!r} is not a date; expected like {fmt.example}") from None


def _offset(text: str | None) -> str:
    if not text or text == "Z":
        return "Z"
    sign, digits = text[0], text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return f"{sign}{hours:02d}:{minutes:02d}"


@dataclass(frozen=True)
class DateGuess:
    format: str  # a key of DATE_FORMATS, or "" when the values do not settle it
    ambiguous: bool  # day and month could be either way round: ask


def guess_date_format(values: Iterable[object]) -> DateGuess:
    """The format most of a column's sample values are written in (a few bad cells do not
    hide it; the check names them).

    03/04/1990 reads as 3 April or as March 4: unless some value has a part above 12, a
    column of such dates is ambiguous and the person chooses.
    """
    texts = [str(v).strip() for v in values if v not in (None, "")]
    if not texts:
        return DateGuess("iso", False)
    fits = {key: sum(_reads(text, key) for text in texts) for key in DATE_FORMATS}
    best = max(fits.values())
    if best * 2 < len(texts):
        return DateGuess("", False)
    if fits["dmy_slash"] == fits["mdy_slash"] == best:
        return DateGuess("", True)
    return DateGuess(next(key for key, n in fits.items() if n == best), False)


def _reads(text: str, format_key: str) -> bool:
    try:
        date(text, format_key)
    except CellError:
        return False
    return True


def date_example(format_key: str) -> str:
    return DATE_FORMATS[format_key].example


# --- Gender --------------------------------------------------------------------------------

# What Altcraft documents for _sex: "male" and "female" (contract §4.2); 0 is accepted too.
# 1 and 2 are how database exports commonly write men and women.
SEX_SPELLINGS = {
    **dict.fromkeys(("m", "male", "man", "м", "муж", "мужской", "мужчина", "1"), "male"),
    **dict.fromkeys(("f", "female", "woman", "w", "ж", "жен", "женский", "женщина", "2"), "female"),
}


def sex(value: object) -> str | int:
    if type(value) is int and value in (1, 2):
        return "male" if value == 1 else "female"
    if value == 0 or value == "0":
        return 0
    if isinstance(value, str) and (found := SEX_SPELLINGS.get(value.strip().rstrip(".").lower())):
        return found
    raise CellError(f"{value!r} is not a gender; expected male or female (M/F, м/ж and 1/2 read)")
