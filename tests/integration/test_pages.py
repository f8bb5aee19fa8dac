"""Pages in Swedish and English, joining without JavaScript, join codes and the event view."""

import datetime as dt
import re

from ehalsodag.agenda.files import load_agenda
from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.agenda.view import event_view
from ehalsodag.settings import PROGRAMMES_DIR
from tests.conftest import load_fixture


async def test_pages_are_swedish_by_default_and_english_on_request(client, settings):
    slug = await load_fixture(settings, "ostergotland-2021-03-23.toml")
    home = await client.get("/")
    assert home.status_code == 200 and '<html lang="sv">' in home.text and "E-hälsodagar" in home.text
    page = await client.get(f"/e/{slug}")
    assert "Delta i e-hälsodagen" in page.text and "Hur många av er tittar på den här skärmen?" in page.text
    assert "Från snack till verkstad! Hur ska vi samverka i Östergötland för att nå våra mål?" in page.text
    switched = await client.get(f"/lang/en?next=/e/{slug}", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == f"/e/{slug}"
    english = await client.get(f"/e/{slug}")
    assert '<html lang="en">' in english.text and "Join the e-health day" in english.text
    assert (await client.get("/lang/en?next=//evil.example", follow_redirects=False)).headers["location"] == "/"


async def test_join_form_works_without_javascript(client, settings):
    slug = await load_fixture(settings)
    page = await client.get(f"/e/{slug}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    bad = await client.post(f"/e/{slug}/join", data={"group_size": "0", "organisation": "Hemtjänst Öst",
                                                     "_csrf_token": token})
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "från 1 till 50." in bad.text
    assert 'value="Hemtjänst Öst"' in bad.text  # what was typed is kept
    assert not any(name.startswith("ehd_a") for name in client.cookies)
    joined = await client.post(f"/e/{slug}/join", data={"display_name": "", "organisation": "Vårdcentral Norr",
                                                      "group_size": "6", "_csrf_token": token},
                               follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == f"/e/{slug}"
    live = await client.get(f"/e/{slug}")
    assert f'ws-connect="/e/{slug}/ws"' in live.text and 'id="programme"' in live.text


async def test_join_code_redirects_and_unknown_code_is_a_readable_404(client, settings):
    slug = await load_fixture(settings)
    code = (await client.get(f"/api/v1/events/{slug}")).json()["join_code"]
    assert re.fullmatch(r"\d{6}", code)
    response = await client.get(f"/j/{code}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/e/{slug}"
    missing = await client.get("/j/000000")
    assert missing.status_code == 404 and "Inget evenemang har den koden" in missing.text
    api_missing = await client.get("/api/v1/events/nope")
    assert api_missing.status_code == 404 and api_missing.json() == {
        "status_code": 404, "detail": "Det finns inget evenemang på den adressen."}


def build_event(path: str, at_day: dt.date) -> Event:
    spec = load_agenda(PROGRAMMES_DIR / path)
    event = Event(slug=spec.slug, title=spec.title, date=spec.date, timezone=spec.timezone, join_code="123456",
                  recording_url=spec.recording_url, allowed_stream_hosts=[], stages=[], blocks=[])
    stages = {}
    for s in spec.stages:
        stages[s.key] = Stage(key=s.key, name=s.name, kind=s.kind, stream_url=s.stream_url)
        event.stages.append(stages[s.key])
    for i, b in enumerate(spec.blocks):
        event.blocks.append(Block(id=i + 1, key=b.key, kind=b.kind, title=b.title, stage=stages[b.stage],
                                  planned_start=spec.utc(b.start), planned_end=spec.utc(b.end), shift_minutes=0,
                                  film_url=b.film_url, stream_url=b.stream_url, removed=False, speakers=[]))
    return event


def at(event: Event, hhmm: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(event.date, dt.time(hour, minute), ZoneInfo(event.timezone)).astimezone(dt.UTC)


def test_event_view_shows_stream_film_and_recording_at_the_right_moments():
    event = build_event("jamtland-harjedalen-2021-05-25.toml", dt.date(2021, 5, 25))
    morning = event_view(event, at(event, "09:07"))
    assert morning.now.key == "inledningsanforande" and morning.player.kind == "youtube"
    assert morning.minutes_left == 3 and morning.next.key == "introduktionssamtal"
    film = event_view(event, at(event, "09:56"))
    assert film.now.kind == "film" and film.player.src.endswith("EXAMPLE0202")  # the film replaces the stream
    panel = event_view(event, at(event, "10:30"))
    assert panel.now.key == "block-1" and panel.film is not None and panel.player.src.endswith("EXAMPLE0001")
    evening = event_view(event, at(event, "17:00"))
    assert evening.day_over and evening.player is None and evening.recording_url.endswith("EXAMPLE0201")
    assert all(row.state == "done" for row in evening.rows)
