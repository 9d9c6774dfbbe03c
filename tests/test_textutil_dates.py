"""to_iso_date()'s fast path for dates written in English ("July 18th, 2012, 8:12 am") gives
what dateutil gives for the same text, and leaves everything else to dateutil."""

from __future__ import annotations

import itertools
import re
import time
from datetime import datetime

from dateutil import parser as dateutil_parser

from parsers import textutil
from parsers.textutil import to_iso_date


def _by_dateutil(value: str) -> str | None:
    """to_iso_date() as it reads a value without the fast path."""
    value = textutil.fold_ws(value)
    try:
        parsed = dateutil_parser.parse(value, fuzzy=False, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.year < 1990 or parsed.year > 2100:
        return None
    return textutil._iso(parsed, bool(re.search(r"\d{1,2}:\d{2}", value)))


def test_written_english_dates_read_as_dateutil_reads_them() -> None:
    months = ["Jan", "January", "Sept", "September", "may", "DEC", "Foo"]
    days = ["1", "9th", "12", "28", "29th", "30", "31st", "0", "32"]
    years = ["1989", "1990", "2012", "2100", "2101"]
    times = ["", ", 8:12 am", " at 2:57 pm", " 12:30 am", " 12:05 PM", " 13:30", " 0:15", " 13:30 pm",
             " 9:05:07 pm", ", 23:59", " at 00:00", " 12:00 pm", " 7:5 pm", " 24:00"]
    answered = 0
    for month, dot, day, comma, year, time in itertools.product(months, ["", "."], days, [",", ""], years, times):
        value = f"{month}{dot} {day}{comma} {year}{time}"
        fast = textutil._written_english(value)
        if fast is not None:
            answered += 1
            assert fast == _by_dateutil(value), value
        assert to_iso_date(value) == _by_dateutil(value), value
    assert answered > 1000  # the fast path did answer most of them


def test_day_first_dates_and_zone_abbreviations_read_as_dateutil_reads_them() -> None:
    """"26 October 2012 17:38", and a time ending in a zone's abbreviation ("4:16 AM PDT"):
    dateutil leaves out one it does not know and reads UTC and GMT as UTC; a word it reads as
    something else (a month, a weekday) and the machine's own zone names it decides."""
    dates = ["26 October 2012", "1st Jan. 2013", "9 Sept, 2011", "31 Feb 2012", "12 Foo 2012", "July 24, 2012"]
    times = ["", " 17:38", ", 4:16 AM", " at 9:05:07 pm", " 4:16 AM PDT", " 17:38 CET", " 4:16 pm UTC",
             " 4:16 GMT", " 4:16 AM MON", " 4:16 AM JAN", " 4:16 AM MARCH", " 4:16 HOURS", " 4:16 AM ABCDEF",
             f" 4:16 AM {time.tzname[0]}", " 4:16 AM AT"]
    answered = 0
    for day, clock in itertools.product(dates, times):
        value = day + clock
        fast = textutil._written_english(value)
        if fast is not None:
            answered += 1
            assert fast == _by_dateutil(value), value
        assert to_iso_date(value) == _by_dateutil(value), value
    assert answered > 30
    assert to_iso_date("July 24, 2012 4:16 AM PDT") == "2012-07-24T04:16:00Z"


def test_iso_8601_moments_read_as_dateutil_reads_them() -> None:
    """The ISO 8601 date-times of <time datetime> and meta tags: the same moment as dateutil's,
    offsets and fractions of a second included; what it does not take, dateutil decides."""
    days = ["2019-11-19", "1989-12-31", "2100-01-01", "2012-02-30"]
    clocks = ["T07:03:25", " 07:03", "T23:59:59.403", "T00:00:00.123456", "T24:00:00", "T07:03:25.1234567"]
    zones = ["", "Z", "+00:00", "-06:00", "+0530", "+05:30", "-0000", "+14:00", "+05:99", "z"]
    answered = 0
    for day, clock, zone in itertools.product(days, clocks, zones):
        value = day + clock + zone
        fast = textutil._iso_8601(value)
        if fast is not None:
            answered += 1
            assert fast == _by_dateutil(value), value
        assert to_iso_date(value) == _by_dateutil(value), value
    assert answered > 60
    assert to_iso_date("2019-11-20T04:31:13-06:00") == "2019-11-20T10:31:13Z"


def test_written_english_examples() -> None:
    assert to_iso_date("July 18th, 2012, 8:12 am") == "2012-07-18T08:12:00Z"
    assert to_iso_date("Nov 1, 2012 at 12:57 pm") == "2012-11-01T12:57:00Z"
    assert to_iso_date("March 12, 2013") == "2013-03-12"
    assert to_iso_date("February 30, 2012") is None
    assert textutil._written_english("Thursday, November 1 at 2:57 pm") is None  # no year: dateutil's call


def test_text_without_a_digit_is_no_date_as_for_dateutil() -> None:
    for value in ["Reply", "Permalink", "Thursday", "March", "today at noon", "Sept the first", "ago"]:
        assert to_iso_date(value) is None and _by_dateutil(value) is None, value
