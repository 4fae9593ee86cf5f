"""reservations/ics.py on files shaped like the channels' own exports (feeds/) and on generated ones.
Pure computation: no database. The venue is in Berlin, check-in 15:00, check-out 11:00."""

import hashlib
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reservations.ics import ExportEvent, FeedError, Parsed, Stay, export_calendar, parse_feed

FEEDS = Path(__file__).parent / "feeds"
BERLIN = ZoneInfo("Europe/Berlin")
TODAY, HORIZON = date(2031, 6, 1), date(2032, 6, 1)
D = date


def parse(data: bytes, **overrides) -> Parsed:
    options = dict(zone=BERLIN, check_in=time(15), check_out=time(11), today=TODAY, horizon=HORIZON)
    return parse_feed(data, **(options | overrides))


def feed(name: str, **overrides) -> Parsed:
    return parse((FEEDS / name).read_bytes(), **overrides)


def nights(parsed: Parsed) -> list[tuple[date, date, str]]:
    return [(stay.starts_on, stay.ends_on, stay.key) for stay in parsed.stays]


def calendar(*lines: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN", *lines, "END:VCALENDAR", ""]).encode()


def all_day(uid: str, first: date, end: date, *extra: str) -> list[str]:
    return [
        "BEGIN:VEVENT",
        *([f"UID:{uid}"] if uid else []),
        f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
        f"DTEND;VALUE=DATE:{end:%Y%m%d}",
        *extra,
        "END:VEVENT",
    ]


def timed(uid: str, start: str, end: str, *extra: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", start, end, *extra, "END:VEVENT"]


# ---------------------------------------------------------------------------------------------
# The channels' feeds


def test_airbnb_reservations_and_blocks_become_stays_and_the_past_one_is_skipped():
    parsed = feed("airbnb.ics")

    assert nights(parsed) == [
        (D(2031, 5, 28), D(2031, 6, 3), "1418fb94e984-9a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d@airbnb.com"),
        (D(2031, 7, 10), D(2031, 7, 14), "1418fb94e984-3c1d2e9f8a7b6c5d4e3f2a1b0c9d8e7f@airbnb.com"),
        (D(2031, 8, 1), D(2031, 8, 4), "1418fb94e984-7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b@airbnb.com"),
        (D(2031, 9, 15), D(2031, 12, 15), "ab41cdc37e0b-2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c@airbnb.com"),
        (D(2032, 4, 20), HORIZON, "ab41cdc37e0b-6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e@airbnb.com"),
    ]
    assert parsed.notes == ["1 past event was ignored."]
    assert [stay.summary for stay in parsed.stays] == ["Reserved"] * 3 + ["Airbnb (Not available)"] * 2
    assert all(stay.uid == stay.key for stay in parsed.stays)


def test_airbnb_stay_under_way_keeps_its_first_night_and_the_window_clips_only_the_end():
    stays = {stay.starts_on: stay for stay in feed("airbnb.ics").stays}

    assert stays[D(2031, 5, 28)].ends_on == D(2031, 6, 3)  # arrived before today: not clipped
    assert stays[D(2032, 4, 20)].ends_on == HORIZON  # the feed says 2032-07-01
    assert D(2032, 8, 1) not in stays  # after the horizon


def test_airbnb_description_with_the_guests_phone_is_not_kept():
    parsed = feed("airbnb.ics")

    assert "Phone" not in repr(parsed) and "1234" not in repr(parsed) and "HM" not in repr(parsed)


def test_booking_com_closed_nights_including_back_to_back_stays():
    parsed = feed("booking_com.ics")

    assert nights(parsed) == [
        (D(2031, 6, 12), D(2031, 6, 15), "8c1f0e3a9b2d4c7e6f5a1b0c9d8e7f6a@booking.com"),
        (D(2031, 6, 15), D(2031, 6, 18), "2b9e8d7c6f5a4b3c2d1e0f9a8b7c6d5e@booking.com"),
        (D(2031, 7, 1), D(2031, 7, 2), "5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a@booking.com"),
        (D(2031, 12, 20), D(2032, 1, 3), "f0e1d2c3b4a5968778695a4b3c2d1e0f@booking.com"),
    ]
    assert {stay.summary for stay in parsed.stays} == {"CLOSED - Not available"}
    assert parsed.notes == []


def test_vrbo_summary_with_the_guests_name_is_kept_for_staff():
    parsed = feed("vrbo.ics")

    assert [(stay.starts_on, stay.ends_on, stay.summary) for stay in parsed.stays] == [
        (D(2031, 6, 20), D(2031, 6, 27), "Reserved - Jane"),
        (D(2031, 9, 5), D(2031, 9, 6), "Blocked"),
        (D(2031, 10, 3), D(2031, 10, 10), "Reserved - Tomasz"),
    ]
    assert parsed.stays[0] == Stay(
        key="9f2a6c1e-4b7d-4e0a-8c3f-5d1b2a7e9c40",
        uid="9f2a6c1e-4b7d-4e0a-8c3f-5d1b2a7e9c40",
        summary="Reserved - Jane",
        starts_on=D(2031, 6, 20),
        ends_on=D(2031, 6, 27),
    )


# ---------------------------------------------------------------------------------------------
# Timed events (a Google calendar kept by hand)


def google() -> dict[str, Stay]:
    return {stay.key: stay for stay in feed("google_timed.ics").stays}


def test_timed_event_takes_the_nights_whose_stay_it_meets():
    stays = google()

    # 3 Jul 16:00 to 6 Jul 10:00: the nights of the 3rd, 4th and 5th.
    assert stays["3k9v1m2q7r8s4t5u6w0x1y2z3a@google.com"].starts_on == D(2031, 7, 3)
    assert stays["3k9v1m2q7r8s4t5u6w0x1y2z3a@google.com"].ends_on == D(2031, 7, 6)
    # 20 Jul 09:00, before check-out: the night of the 19th is taken too; 21 Jul 10:00 ends it.
    assert stays["5n7p9r1t3v5x7z9b1d3f5h7j9l@google.com"].starts_on == D(2031, 7, 19)
    assert stays["5n7p9r1t3v5x7z9b1d3f5h7j9l@google.com"].ends_on == D(2031, 7, 21)


def test_timed_events_across_the_autumn_clock_change_use_the_offset_of_their_day():
    stays = google()

    # Berlin time, 25 Oct 16:00 CEST to 26 Oct 10:30 CET: one night.
    berlin = stays["0a2c4e6g8i0k2m4o6q8s0u2w4y@google.com"]
    assert (berlin.starts_on, berlin.ends_on) == (D(2031, 10, 25), D(2031, 10, 26))
    # UTC, 26 Oct 09:30Z: 10:30 in Berlin after the change (CET), before check-out, so the night of
    # the 25th is taken; with the summer offset it would be 11:30 and that night free.
    utc = stays["7b9d1f3h5j7l9n1p3r5t7v9x1z@google.com"]
    assert (utc.starts_on, utc.ends_on) == (D(2031, 10, 25), D(2031, 10, 27))


def test_nights_of_a_timed_event_depend_on_the_venues_clock():
    event = timed("late", "DTSTART:20310710T080000Z", "DTEND:20310711T080000Z")  # 10:00 to 10:00 in Berlin

    assert nights(parse(calendar(*event))) == [(D(2031, 7, 9), D(2031, 7, 11), "late")]
    assert nights(parse(calendar(*event), check_out=time(9))) == [(D(2031, 7, 10), D(2031, 7, 11), "late")]
    assert nights(parse(calendar(*event), zone=ZoneInfo("Asia/Tokyo"))) == [
        (D(2031, 7, 10), D(2031, 7, 12), "late")  # 17:00 to 17:00 in Tokyo, after check-in
    ]


def test_weekly_rule_with_an_excluded_date_and_a_moved_occurrence():
    uid = "weekly0cleaning4mq2h7f1x9@google.com"
    weekly = [stay for key, stay in google().items() if key.startswith(uid)]

    assert [(stay.key, stay.starts_on, stay.ends_on) for stay in weekly] == [
        (f"{uid}/20310805T100000Z", D(2031, 8, 5), D(2031, 8, 6)),
        # 12 Aug is an EXDATE; the 19th moved to Thursday the 21st and keeps the key of the 19th.
        (f"{uid}/20310819T100000Z", D(2031, 8, 21), D(2031, 8, 22)),
        (f"{uid}/20310826T100000Z", D(2031, 8, 26), D(2031, 8, 27)),
        (f"{uid}/20310902T100000Z", D(2031, 9, 2), D(2031, 9, 3)),  # COUNT=5 counts the excluded one
    ]
    assert weekly[1].summary == "Grundreinigung (verschoben auf Donnerstag)"
    assert {stay.uid for stay in weekly} == {uid}


def test_rule_without_end_is_expanded_only_within_the_window():
    uid = "owner0monthly8k2j4h6g@google.com"
    monthly = [stay for key, stay in google().items() if key.startswith(uid)]

    # From January 2031 every month, for ever: the window holds 15 Jun 2031 to 15 May 2032.
    assert [stay.key for stay in monthly] == [f"{uid}/{day:%Y%m%d}" for day in monthly_days(D(2031, 6, 15), 12)]
    assert all(stay.ends_on - stay.starts_on == timedelta(days=1) for stay in monthly)


def monthly_days(first: date, count: int) -> list[date]:
    return [
        date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, first.day) for i in range(count)
    ]


def test_google_feed_skips_the_free_and_the_cancelled_event():
    parsed = feed("google_timed.ics")

    assert parsed.notes == ["1 cancelled event was ignored.", "1 event marked as free time was ignored."]
    assert not [stay for stay in parsed.stays if stay.key.startswith(("free0", "cancelled0"))]
    assert len(parsed.stays) == 4 + 4 + 12  # single, weekly, monthly
    assert [stay.starts_on for stay in parsed.stays] == sorted(stay.starts_on for stay in parsed.stays)


# ---------------------------------------------------------------------------------------------
# Floating times, missing ends, no UID


def test_floating_times_missing_ends_and_an_event_without_uid():
    parsed = feed("floating_and_no_uid.ics")
    no_uid = "nouid-" + hashlib.sha1(b"20310815|20310818|Blocked", usedforsecurity=False).hexdigest()[:16]

    assert nights(parsed) == [
        (D(2031, 8, 1), D(2031, 8, 3), "zimmerplan-4711"),  # floating 15:00 to 11:00, in Berlin
        (D(2031, 8, 10), D(2031, 8, 11), "zimmerplan-4712"),  # all-day, no DTEND: one night
        (D(2031, 8, 15), D(2031, 8, 18), no_uid),
        (D(2031, 8, 25), D(2031, 8, 28), "zimmerplan-4714"),  # DURATION:P2DT18H, to 28 Aug 10:00
        (D(2031, 9, 10), D(2031, 9, 12), "zimmerplan-4717"),  # a TZID nobody knows: Berlin
        (D(2031, 9, 15), D(2031, 9, 17), "zimmerplan-4718"),  # New York 10:00 is 16:00 in Berlin
    ]
    assert parsed.stays[2].uid == "" and parsed.stays[2].summary == "Blocked"
    assert parsed.notes == [
        "2 events end as they start and were ignored.",  # DTEND = DTSTART, and no DTEND at all
        "1 event falls between check-out and check-in and takes no night.",
        "1 event without a UID was matched by its dates.",
        "1 all-day event without an end was taken as one night.",
    ]


def test_event_without_uid_keeps_its_key_from_one_sync_to_the_next_and_changes_with_its_dates():
    first = parse(calendar(*all_day("", D(2031, 7, 1), D(2031, 7, 3), "SUMMARY:Blocked")))
    again = parse(calendar(*all_day("", D(2031, 7, 1), D(2031, 7, 3), "SUMMARY:Blocked")))
    moved = parse(calendar(*all_day("", D(2031, 7, 1), D(2031, 7, 4), "SUMMARY:Blocked")))

    assert first.stays[0].key == again.stays[0].key != moved.stays[0].key
    assert first.stays[0].key.startswith("nouid-") and len(first.stays[0].key) == len("nouid-") + 16


def test_all_day_event_with_a_duration():
    parsed = parse(calendar("BEGIN:VEVENT", "UID:d", "DTSTART;VALUE=DATE:20310701", "DURATION:P3D", "END:VEVENT"))

    assert nights(parsed) == [(D(2031, 7, 1), D(2031, 7, 4), "d")]
    assert parsed.notes == []


def test_a_block_until_the_end_of_time_is_clipped_and_an_event_in_year_9999_is_left_out():
    parsed = parse(
        calendar(
            *all_day("forever", D(2031, 7, 1), D(9999, 12, 31)),
            *["BEGIN:VEVENT", "UID:far", "DTSTART;VALUE=DATE:99991231", "END:VEVENT"],
        )
    )

    assert nights(parsed) == [(D(2031, 7, 1), HORIZON, "forever")]
    assert parsed.notes == []


# ---------------------------------------------------------------------------------------------
# What is skipped, and said


def test_same_uid_twice_keeps_the_first_event():
    parsed = parse(
        calendar(
            *all_day("twice", D(2031, 7, 1), D(2031, 7, 3), "SUMMARY:First"),
            *all_day("twice", D(2031, 8, 1), D(2031, 8, 3), "SUMMARY:Second", "SEQUENCE:5"),
        )
    )

    assert [(stay.starts_on, stay.summary) for stay in parsed.stays] == [(D(2031, 7, 1), "First")]
    assert parsed.notes == ["1 event repeated a UID and was ignored."]


def test_events_ending_before_they_start_are_skipped_single_or_repeating():
    parsed = parse(
        calendar(
            *all_day("backwards", D(2031, 7, 5), D(2031, 7, 1)),
            *timed("timed-backwards", "DTSTART:20310710T150000Z", "DTEND:20310709T150000Z"),
            *timed("weekly-backwards", "DTSTART:20310710T150000Z", "DTEND:20310709T150000Z", "RRULE:FREQ=WEEKLY"),
            *all_day("fine", D(2031, 7, 1), D(2031, 7, 2)),
        )
    )

    assert [stay.key for stay in parsed.stays] == ["fine"]
    assert parsed.notes == ["3 events end before they start and were ignored."]


def test_event_ending_today_is_past_and_one_ending_tomorrow_is_not():
    parsed = parse(
        calendar(*all_day("gone", D(2031, 5, 30), TODAY), *all_day("tonight", D(2031, 5, 30), D(2031, 6, 2)))
    )

    assert nights(parsed) == [(D(2031, 5, 30), D(2031, 6, 2), "tonight")]
    assert parsed.notes == ["1 past event was ignored."]


def test_summary_is_stripped_and_cut_at_200_characters():
    parsed = parse(calendar(*all_day("long", D(2031, 7, 1), D(2031, 7, 2), "SUMMARY:  " + "x" * 300)))

    assert parsed.stays[0].summary == "x" * 200


def test_other_components_are_ignored_and_an_empty_calendar_is_empty():
    todo = ["BEGIN:VTODO", "UID:t", "DTSTART;VALUE=DATE:20310701", "DUE;VALUE=DATE:20310705", "END:VTODO"]
    journal = ["BEGIN:VJOURNAL", "UID:j", "DTSTART;VALUE=DATE:20310701", "END:VJOURNAL"]
    busy = ["BEGIN:VFREEBUSY", "UID:f", "FREEBUSY:20310701T100000Z/20310705T100000Z", "END:VFREEBUSY"]

    assert parse(calendar(*todo, *journal, *busy)) == Parsed([], [])
    assert parse(calendar()) == Parsed([], [])


def test_byte_order_mark_blank_lines_and_lower_case_are_accepted():
    data = b"\xef\xbb\xbf\r\n  " + calendar(*all_day("x", D(2031, 7, 1), D(2031, 7, 2))).lower()

    assert nights(parse(data)) == [(D(2031, 7, 1), D(2031, 7, 2), "x")]


# ---------------------------------------------------------------------------------------------
# Files we cannot read


def test_a_web_page_is_refused_in_words():
    with pytest.raises(FeedError, match=r"^This is not an iCalendar file: it looks like a web page\.$"):
        feed("web_page.html")


def test_a_cut_off_download_is_refused_in_words_without_the_files_content():
    with pytest.raises(FeedError) as refused:
        feed("garbage.ics")

    assert str(refused.value).startswith("The calendar file is damaged or incomplete and could not be read")
    assert "HomeAway" not in str(refused.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01\x02\xff" * 64, b"PK\x03\x04 a zip file", "Zimmerplan: Zimmer 3 belegt – bis Sonntag".encode()],
    ids=["empty", "random bytes", "zip", "text"],
)
def test_what_is_not_a_calendar_is_refused(data):
    with pytest.raises(FeedError, match=r"^This is not an iCalendar file\.$"):
        parse(data)


@pytest.mark.parametrize(
    "data",
    [
        b"BEGIN:VCALENDAR",
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        calendar("BEGIN:VEVENT", "UID:a", "DTSTART:20310701T10", "END:VEVENT"),
        calendar("BEGIN:VEVENT", "UID:a", "DTSTART;VALUE=DATE:20310701", "RRULE:FREQ=FORTNIGHTLY", "END:VEVENT"),
        calendar("BEGIN:VEVENT", "UID:a", "DTSTART;VALUE=DATE:20310701", "DURATION:soon", "END:VEVENT"),
        calendar("BEGIN:VEVENT", "UID:a", "DTSTART;VALUE=DATE:99991231", "RRULE:FREQ=DAILY", "END:VEVENT"),
    ],
    ids=["truncated", "two calendars", "bad date", "bad rule", "bad duration", "end of time"],
)
def test_nothing_but_feed_error_escapes(data):
    with pytest.raises(FeedError) as refused:
        parse(data)

    assert str(refused.value)


def test_unreadable_date_is_named():
    with pytest.raises(FeedError, match=r"^An event in the calendar has a date that cannot be read: 20310701T10\.$"):
        parse(calendar("BEGIN:VEVENT", "UID:a", "DTSTART:20310701T10", "END:VEVENT"))


# ---------------------------------------------------------------------------------------------
# Too many events


def test_a_daily_rule_without_end_beyond_max_events_is_refused():
    data = calendar(*all_day("daily", D(2031, 1, 1), D(2031, 1, 2), "RRULE:FREQ=DAILY"))

    with pytest.raises(FeedError, match=r"^The calendar has more than 50 events before 2032-06-01"):
        parse(data, max_events=50)
    assert len(parse(data, max_events=400).stays) == 366  # 1 Jun 2031 to 31 May 2032


def test_more_single_events_than_max_events_is_refused_and_exactly_max_events_is_read():
    events = [all_day(f"e{i}", TODAY + timedelta(days=i), TODAY + timedelta(days=i + 1)) for i in range(60)]
    data = calendar(*[line for event in events for line in event])

    with pytest.raises(FeedError, match=r"^The calendar has more than 50 events"):
        parse(data, max_events=50)
    assert len(parse(data, max_events=60).stays) == 60


def test_a_rule_repeating_every_second_is_refused_before_it_is_expanded():
    data = calendar(*timed("tick", "DTSTART:20310601T000000Z", "DTEND:20310601T000001Z", "RRULE:FREQ=SECONDLY"))
    started = clock.monotonic()

    with pytest.raises(FeedError, match=r"^The calendar has more than 5000 events"):
        parse(data)
    assert clock.monotonic() - started < 5


def test_a_rule_repeating_every_minute_for_years_before_the_window_is_refused():
    data = calendar(*timed("old", "DTSTART:20250101T000000Z", "DTEND:20250101T000100Z", "RRULE:FREQ=MINUTELY"))

    with pytest.raises(FeedError, match=r"^An event in the calendar repeats too often to be read\.$"):
        parse(data)


def test_ten_thousand_events_with_six_thousand_past_are_read_with_the_default_limit():
    past = [
        all_day(f"old{i}", D(2010, 1, 1) + timedelta(days=i), D(2010, 1, 2) + timedelta(days=i)) for i in range(6000)
    ]
    ahead = [
        all_day(f"new{i}", TODAY + timedelta(days=i % 366), TODAY + timedelta(days=i % 366 + 1)) for i in range(4000)
    ]
    data = calendar(*[line for event in past + ahead for line in event])

    parsed = parse(data)

    assert len(parsed.stays) == 4000 and len({stay.key for stay in parsed.stays}) == 4000
    assert parsed.notes == ["6000 past events were ignored."]
    assert parsed.stays == sorted(parsed.stays, key=lambda stay: (stay.starts_on, stay.key))


def test_ten_thousand_events_in_the_window_need_a_higher_limit():
    events = [
        all_day(f"e{i}", TODAY + timedelta(days=i % 366), TODAY + timedelta(days=i % 366 + 1)) for i in range(10_000)
    ]
    data = calendar(*[line for event in events for line in event])

    with pytest.raises(FeedError, match=r"^The calendar has more than 5000 events"):
        parse(data)
    assert len(parse(data, max_events=10_000).stays) == 10_000


# ---------------------------------------------------------------------------------------------
# Export


STAMP = datetime(2031, 6, 1, 8, 30, 15, 123456, tzinfo=UTC)


def exported() -> list[ExportEvent]:
    return [
        ExportEvent("booking-1@holdfast", "Booked", D(2031, 7, 10), D(2031, 7, 14), STAMP),
        ExportEvent("block-2@holdfast", "Not available", D(2031, 7, 10), D(2031, 7, 12), STAMP),
        ExportEvent(
            "booking-3@holdfast",
            "Meeting room",
            datetime(2031, 7, 10, 9, tzinfo=BERLIN),
            datetime(2031, 7, 10, 12, tzinfo=BERLIN),
            STAMP,
        ),
        ExportEvent("booking-4@holdfast", "Booked", D(2031, 8, 1), D(2031, 8, 3), STAMP.astimezone(BERLIN)),
    ]


def test_export_is_the_same_bytes_whatever_the_order_of_the_events():
    events = exported()

    assert export_calendar("Zimmer 3", events) == export_calendar("Zimmer 3", events)
    assert export_calendar("Zimmer 3", events) == export_calendar("Zimmer 3", list(reversed(events)))


def test_export_contents():
    body = export_calendar("Pension Sonnenhof – Zimmer 3", exported())
    lines = body.decode().split("\r\n")

    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert lines[:6] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Holdfast//Holdfast calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Pension Sonnenhof – Zimmer 3",
    ]
    assert [line for line in lines if line.startswith("UID:")] == [
        "UID:block-2@holdfast",  # 10 Jul, sorted by start then UID; a date before that day's times
        "UID:booking-1@holdfast",
        "UID:booking-3@holdfast",
        "UID:booking-4@holdfast",
    ]
    assert "DTSTART;VALUE=DATE:20310710" in lines and "DTEND;VALUE=DATE:20310714" in lines
    assert "DTSTART:20310710T070000Z" in lines and "DTEND:20310710T100000Z" in lines  # 09:00 in Berlin, in UTC
    assert lines.count("DTSTAMP:20310601T083015Z") == 4
    assert lines.count("TRANSP:OPAQUE") == 4 and lines.count("BEGIN:VEVENT") == 4
    assert not [line for line in lines if line.startswith(("DESCRIPTION", "DTSTART;TZID", "BEGIN:VTIMEZONE"))]


def test_export_folds_long_lines_at_75_octets():
    long = ExportEvent("long@holdfast", "Zimmer mit Blick über den See " * 5, D(2031, 7, 1), D(2031, 7, 2), STAMP)
    body = export_calendar("x", [long])

    assert max(len(line) for line in body.split(b"\r\n")) <= 75
    assert parse(body).stays[0].summary == ("Zimmer mit Blick über den See " * 5).strip()


def test_export_then_parse_gives_back_the_nights():
    events = [event for event in exported() if not isinstance(event.starts, datetime)]

    parsed = parse(export_calendar("Zimmer 3", events))

    assert sorted((stay.starts_on, stay.ends_on, stay.uid, stay.summary) for stay in parsed.stays) == sorted(
        (event.starts, event.ends, event.uid, event.summary) for event in events
    )
    assert parsed.notes == []


def test_a_channels_stays_exported_and_read_back_are_the_same_stays():
    airbnb = feed("airbnb.ics").stays
    events = [ExportEvent(stay.key, stay.summary, stay.starts_on, stay.ends_on, STAMP) for stay in airbnb]

    assert parse(export_calendar("again", events)).stays == airbnb
