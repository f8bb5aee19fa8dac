"""A national day for tests: a national stage and two regions, timed around now so that what is on (and
which stage each region follows) can be set by a moderator's action or by moving blocks in time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from ehalsodag.settings import Settings

SLUG = "nationell-test"
NATIONAL, OSTERGOTLAND, SKANE = "nationell", "ostergotland", "skane"
TIMEZONE = ZoneInfo("Europe/Stockholm")


def programme(now: dt.datetime | None = None) -> str:
    """The programme file: the national opening is on now, both regions' blocks start in an hour (Skåne's
    half an hour later), the national panel after them."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(TIMEZONE).replace(second=0, microsecond=0, tzinfo=None)
    start = now - dt.timedelta(minutes=30)

    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).isoformat()

    return f'''
[event]
slug = "{SLUG}"
title = "Nationell e-hälsodag (test)"
date = {start.date().isoformat()}
timezone = "Europe/Stockholm"

[[stages]]
id = "{NATIONAL}"
name = "Nationella scenen"
kind = "national"
stream_url = "https://www.youtube.com/watch?v=NATIONAL001"

[[stages]]
id = "{OSTERGOTLAND}"
name = "Östergötland"
kind = "regional"
stream_url = "https://www.youtube.com/watch?v=REGIONOST01"

[[stages]]
id = "{SKANE}"
name = "Skåne"
kind = "regional"
stream_url = "https://www.youtube.com/watch?v=REGIONSKA01"

[[blocks]]
id = "oppning"
stage = "{NATIONAL}"
kind = "opening"
start = {at(0)}
end = {at(90)}
title = "Nationell öppning"

[[blocks]]
id = "sa-gor-vi-ostergotland"
stage = "{OSTERGOTLAND}"
kind = "talk"
start = {at(90)}
end = {at(120)}
title = "Så gör vi i Östergötland"

[[blocks]]
id = "sa-gor-vi-skane"
stage = "{SKANE}"
kind = "talk"
start = {at(120)}
end = {at(150)}
title = "Så gör vi i Skåne"

[[blocks]]
id = "nationell-panel"
stage = "{NATIONAL}"
kind = "panel"
start = {at(150)}
end = {at(210)}
title = "Nationell panel"

[evaluation]
[[evaluation.questions]]
key = "helhet"
kind = "scale"
text = "Vad tyckte du om dagen?"
labels = ["Mycket dålig", "Dålig", "Varken bra eller dålig", "Bra", "Mycket bra"]
'''


async def load_national_day(settings: Settings, folder: Path) -> str:
    """Write and load the programme; return the event's slug."""
    from tests.conftest import load_programme

    path = folder / f"{SLUG}.toml"
    path.write_text(programme(), encoding="utf-8")
    return await load_programme(settings, path)
