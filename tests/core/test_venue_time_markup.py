"""{% venue_time %} writes what static/js/local-time.js reads: a <time> element the script's selector
finds, its `datetime` a moment a browser's Date() parses (ISO 8601 to the second, with the offset) and
its `data-venue-zone` the venue's IANA zone; the text the venue's wall clock. (The script itself runs
in the browser tests.)"""

import re
import zoneinfo
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.template import Context, Template

SCRIPT = Path(settings.BASE_DIR) / "static" / "js" / "local-time.js"
# ECMAScript's date-time string format with an offset (what Date() is specified to read).
ECMASCRIPT_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?([+-]\d\d:\d\d|Z)$")


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []  # (tag, attributes, text)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs), ""))

    def handle_data(self, data):
        if self.found:
            tag, attributes, text = self.found[-1]
            self.found[-1] = (tag, attributes, text + data)


def rendered(template: str, **context) -> list:
    parser = Elements()
    parser.feed(Template("{% load holdfast %}" + template).render(Context(context)))
    return parser.found


def the_scripts_selector() -> tuple[str, set[str]]:
    """The element and attributes local-time.js selects, from its querySelectorAll("time[a][b]")."""
    (selector,) = re.findall(r'querySelectorAll\("([^"]+)"\)', SCRIPT.read_text())
    tag = selector.split("[", 1)[0]
    return tag, set(re.findall(r"\[([\w-]+)\]", selector))


def test_the_tag_marks_a_venue_time_as_the_script_selects_and_parses_it():
    moment = datetime(2026, 11, 14, 18, 0, 0, 123456, tzinfo=UTC)  # 19:00 in Berlin, with microseconds

    ((tag, attributes, text),) = rendered("{% venue_time moment 'Europe/Berlin' %}", moment=moment)

    wanted_tag, wanted_attributes = the_scripts_selector()
    assert tag == wanted_tag == "time"
    assert wanted_attributes == {"datetime", "data-venue-zone"} <= set(attributes)
    assert ECMASCRIPT_DATE_TIME.match(attributes["datetime"]), attributes["datetime"]
    assert attributes["datetime"] == "2026-11-14T19:00:00+01:00"
    assert datetime.fromisoformat(attributes["datetime"]) == moment.replace(microsecond=0)
    assert zoneinfo.ZoneInfo(attributes["data-venue-zone"]).key == "Europe/Berlin"
    assert text == "Sat 14 Nov 19:00"  # the venue's wall clock, short with the day (DATE_WITH_DAY)


def test_a_time_only_format_keeps_the_full_moment_for_the_script():
    moment = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 19:30 in New York, summer time

    ((_, attributes, text),) = rendered("{% venue_time moment 'America/New_York' 'H:i' %}", moment=moment)

    assert (attributes["datetime"], attributes["data-venue-zone"], text) == (
        "2026-07-01T19:30:00-04:00",
        "America/New_York",
        "19:30",
    )
