"""A day from the framework over real HTTP, on SQLite and PostgreSQL: New day, the block editor and its problems
beside the fields, the evaluation bank, download / PUT / upload with problems by line, the round trip through
``ehalsodag agenda load``, drafts hidden from all but their staff, and edits reaching open pages."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import websockets

from ehalsodag.settings import PROGRAMMES_DIR
from tests.conftest import ROOT, make_settings, run_sync
from tests.support.days import DATABASES, FRAMEWORK, A, dump, field_values, form, world


@pytest.fixture(scope="module", params=DATABASES)
def the_world(request, tmp_path_factory):
    with world(request.param, tmp_path_factory.mktemp(f"days-{request.param}")) as made:
        yield made


def cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": settings.secret_key}
    return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_new_day_is_a_draft_regional_file_that_extends_the_framework(the_world):
    slug = the_world.new_day(region="Jämtland Härjedalen", date="2027-05-25")
    assert slug == "jamtland-harjedalen-2027-05-25"
    with the_world.client("organiser") as http:
        text = http.get(f"/e/{slug}/programme.toml").text
        event = http.get(f"/api/v1/events/{slug}").json()
    doc = tomllib.loads(text)
    assert doc["event"]["extends"] == FRAMEWORK and doc["placeholders"] == {"region": "Jämtland Härjedalen"}
    assert "blocks" not in doc, "nothing changed yet: every block comes from the framework"
    framework = tomllib.loads((PROGRAMMES_DIR / FRAMEWORK).read_text())
    assert [b["key"] for b in event["blocks"]] == [b["id"] for b in framework["blocks"]]
    closing_panel = next(b for b in event["blocks"] if b["key"] == "fran-snack-till-verkstad")
    assert "Jämtland Härjedalen" in closing_panel["title"] and "{region}" not in closing_panel["title"]
    assert event["date"] == "2027-05-25"
    # a draft: its organiser and the admin see it, nobody else (not even an organiser of another event)
    for role, status in (("organiser", 200), ("admin", 200), (None, 404), ("other_organiser", 404),
                         ("moderator", 404)):
        with the_world.client(role) as http:
            assert http.get(f"/e/{slug}").status_code == status, role
            assert http.get(f"/api/v1/events/{slug}").status_code == status, role
            assert (http.post(f"/api/v1/events/{slug}/join", json={}).status_code == 404) == (status == 404), role
    with the_world.client() as http:
        assert slug not in http.get("/").text
        assert http.get(f"/j/{event['join_code']}", follow_redirects=False).status_code == 404


def test_the_block_editor_saves_and_shows_problems_beside_the_field(the_world):
    slug = the_world.new_day(region="Blekinge", date="2027-04-01")
    with the_world.client("organiser") as http:
        page = http.get(f"/studio/e/{slug}/blocks/block-1")
        assert page.status_code == 200
        values = field_values(page.text)
        assert values["title"] == "Block 1: Individen som medskapare" and values["poll_kind"] == "scale"
        before = http.get(f"/e/{slug}/programme.toml").text
        bad = form(http, f"/studio/e/{slug}/blocks/block-1", {**values, "start": "10:00", "end": "09:30"})
        assert bad.status_code == 422
        assert 'id="error-end"' in bad.text and "before or when it starts" in bad.text
        assert 'id="end" name="end" value="09:30" inputmode="numeric" aria-invalid="true"' in bad.text
        overlap = form(http, f"/studio/e/{slug}/blocks/block-1", {**values, "end": "11:05"},
                       headers={"HX-Request": "true"})
        assert overlap.status_code == 422 and "<html" not in overlap.text, "htmx gets the form alone"
        assert overlap.text.lstrip().startswith('<div aria-live="polite" id="block-form-status" hx-swap-oob='), \
            "and the status for the live region that stays in the page"
        assert "overlaps 'paus-1100'" in html.unescape(overlap.text)
        assert http.get(f"/e/{slug}/programme.toml").text == before, "nothing saved"
        saved = form(http, f"/studio/e/{slug}/blocks/block-1", {
            **values, "title": "Block 1: Invånaren som medskapare", "speakers-1-name": "Anna Andersson",
            "speakers-1-role": "hälsostrateg", "speakers-1-organisation": "Region Blekinge",
            "theme": "individen-som-medskapare", "recording_url": "https://www.youtube.com/watch?v=REC1",
            "poll_kind": "single", "poll_question": "Hur långt har Blekinge kommit?", "poll_options": "Långt\nKort"})
        assert saved.status_code == 303
        event = http.get(f"/api/v1/events/{slug}").json()
        block = next(b for b in event["blocks"] if b["key"] == "block-1")
        assert block["title"] == "Block 1: Invånaren som medskapare"
        assert block["speakers"][1] == {"name": "Anna Andersson", "role": "hälsostrateg",
                                        "organisation": "Region Blekinge"}
        assert block["recording_url"] == "https://www.youtube.com/watch?v=REC1"
        polls = http.get(f"/api/v1/events/{slug}/polls").json()
        poll = next(p for p in polls if p["question"].endswith("Blekinge kommit?"))
        assert poll["kind"] == "single" and [o["label"] for o in poll["options"]] == ["Långt", "Kort"]
        doc = tomllib.loads(http.get(f"/e/{slug}/programme.toml").text)
        assert [b["id"] for b in doc["blocks"]] == ["block-1"], "only the changed block is written in the day's file"


def test_add_move_and_remove_blocks(the_world):
    slug = the_world.new_day(region="Gotland", date="2027-04-02")
    with the_world.client("organiser") as http:
        added = form(http, f"/studio/e/{slug}/blocks", {"title": "Gotlands lärande exempel", "kind": "film",
                                                         "start": "16:00", "end": "16:20"})
        assert added.status_code == 303 and added.headers["location"].endswith("/blocks/gotlands-larande-exempel")
        refused = form(http, f"/studio/e/{slug}/blocks", {"title": "Krock", "kind": "talk", "start": "09:00",
                                                           "end": "09:03"})
        assert refused.status_code == 422 and "overlaps" in refused.text
        assert form(http, f"/studio/e/{slug}/blocks/paus-0950/remove", {}).status_code == 303
        assert form(http, f"/studio/e/{slug}/blocks/lunch/move", {"direction": "up"}).status_code == 303
        event = http.get(f"/api/v1/events/{slug}").json()
        keys = [b["key"] for b in event["blocks"]]
        assert "paus-0950" not in keys and keys[-1] == "gotlands-larande-exempel"
        assert keys.index("lunch") == keys.index("block-2") - 1, "lunch moved before block 2"
        lunch = next(b for b in event["blocks"] if b["key"] == "lunch")
        block_2 = next(b for b in event["blocks"] if b["key"] == "block-2")
        assert lunch["planned_end"] == block_2["planned_start"] and lunch["planned_start"].endswith("09:10:00Z")
        doc = tomllib.loads(http.get(f"/e/{slug}/programme.toml").text)
        assert doc["remove_blocks"] == ["paus-0950"]
        assert form(http, f"/studio/e/{slug}/blocks/avrundning/move", {"direction": "down"}).status_code == 409 or \
            keys[-1] != "avrundning"


def test_the_evaluation_comes_from_the_question_bank(the_world):
    slug = the_world.new_day(region="Halland", date="2027-04-03")
    with the_world.client("organiser") as http:
        page = http.get(f"/studio/e/{slug}/evaluation").text
        for key in ("helhet", "aterkommande", "kommentar"):
            assert f'value="{key}" checked' in page, "the report's questions, used by the framework"
        bad = form(http, f"/studio/e/{slug}/bank", {"key": "Nöjd!", "kind": "scale", "text": "Nöjd?"})
        assert bad.status_code == 422 and "key" in bad.text
        assert form(http, f"/studio/e/{slug}/bank", {"key": "nps-rekommendera", "kind": "nps",
                                                     "text": "Skulle du rekommendera dagen?"}).status_code == 303
        assert form(http, f"/studio/e/{slug}/bank", {"key": "nps-rekommendera", "kind": "nps",
                                                     "text": "Igen"}).status_code == 409
        too_short = form(http, f"/studio/e/{slug}/evaluation", {"keys": ["helhet"], "open_minutes": "2"})
        assert too_short.status_code == 422 and "from 5 minutes to a week" in too_short.text
        assert form(http, f"/studio/e/{slug}/evaluation", {"keys": ["helhet", "nps-rekommendera"],
                                                           "open_minutes": "90"}).status_code == 303
        assert tomllib.loads(http.get(f"/e/{slug}/programme.toml").text)["evaluation"]["open_minutes"] == 90
        evaluation = http.get(f"/api/v1/events/{slug}/evaluation").json()
        assert [q["key"] for q in evaluation["questions"]] == ["helhet", "nps-rekommendera"]


def test_put_and_upload_refuse_a_file_with_problems_by_line_and_change_nothing(the_world):
    slug = the_world.new_day(region="Kalmar", date="2027-04-04")
    with the_world.client("organiser") as http:
        before = http.get(f"/e/{slug}/programme.toml").text
        broken = before + '\n[[blocks]]\nid = "ny"\nkind = "talk"\nstart = "25:00"\nend = "10:00"\ntitle = "Ny"\n' \
            'stream_url = "javascript:alert(1)"\n'
        lines = broken.splitlines()
        response = http.put(f"/api/v1/events/{slug}/programme", content=broken.encode(),
                            headers={"Content-Type": "application/toml"})
        assert response.status_code == 422
        extra = {p["path"]: p for p in response.json()["extra"]}
        assert lines[extra["blocks[0].start"]["line"] - 1].startswith("start = ")
        assert lines[extra["blocks[0].stream_url"]["line"] - 1].startswith("stream_url = ")
        not_toml = http.put(f"/api/v1/events/{slug}/programme", content=b'[event\ntitle = "x"\n',
                            headers={"Content-Type": "application/toml"})
        assert not_toml.status_code == 422 and not_toml.json()["extra"][0]["line"] == 1
        latin1 = http.put(f"/api/v1/events/{slug}/programme", content="title = 'Å'".encode("latin-1"),
                          headers={"Content-Type": "application/toml"})
        assert latin1.status_code == 422 and "UTF-8" in latin1.json()["extra"][0]["message"]
        other_slug = http.put(f"/api/v1/events/{slug}/programme", content=before.replace(slug, "kapad").encode(),
                               headers={"Content-Type": "application/toml"})
        assert other_slug.status_code == 422 and other_slug.json()["extra"][0]["path"] == "event.slug"
        page = http.post(f"/studio/e/{slug}/upload", files={"file": ("dag.toml", broken.encode(), "application/toml")},
                         data={"_csrf_token": http.cookies.get("csrftoken") or _token(http)}, follow_redirects=False)
        assert page.status_code == 422
        assert f"rad {extra['blocks[0].start']['line']}</code>: blocks[0].start" in page.text
        assert http.get(f"/e/{slug}/programme.toml").text == before
        good = before.replace('title = "Regional e-hälsokonferens Kalmar"', 'title = "Kalmardagen"')
        assert http.put(f"/api/v1/events/{slug}/programme", content=good.encode(),
                        headers={"Content-Type": "application/toml"}).status_code == 200
        assert http.get(f"/api/v1/events/{slug}").json()["title"] == "Kalmardagen"
        assert http.get(f"/e/{slug}/programme.toml").text == good, "download gives back exactly the file"


def _token(http) -> str:
    http.get("/login")
    return http.cookies.get("csrftoken") or ""


def test_the_downloaded_file_loads_with_agenda_load_into_an_identical_event(the_world, tmp_path):
    slug = the_world.new_day(region="Östergötland", date="2027-03-23")
    with the_world.client("organiser") as http:
        values = field_values(http.get(f"/studio/e/{slug}/blocks/block-3").text)
        assert form(http, f"/studio/e/{slug}/blocks/block-3", {**values, "title": "Block 3: Säker information",
                                                               "speakers-1-name": "Lokal talare"}).status_code == 303
        assert form(http, f"/studio/e/{slug}/blocks/introduktion-block/remove", {}).status_code == 303
        assert form(http, f"/studio/e/{slug}/blocks", {"title": "Mingel", "kind": "break", "start": "16:00",
                                                        "end": "16:30"}).status_code == 303
        assert form(http, f"/studio/e/{slug}/evaluation", {"keys": ["helhet", "aterkommande"]}).status_code == 303
        text = http.get(f"/e/{slug}/programme.toml").text
    folder = tmp_path / "git"
    folder.mkdir()
    shutil.copy(PROGRAMMES_DIR / FRAMEWORK, folder / FRAMEWORK)
    (folder / "min-dag.toml").write_text(text)  # any file name: the file names its day
    served = run_sync(dump(the_world.settings, slug))
    fresh = make_settings(tmp_path)
    loaded = cli(fresh, "agenda", "load", str(folder / "min-dag.toml"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[-1] == slug
    assert run_sync(dump(fresh, slug)) == served, "a fresh database gets the same event"
    again = cli(the_world.settings, "agenda", "load", str(folder / "min-dag.toml"))
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == slug, again.stderr
    assert run_sync(dump(the_world.settings, slug)) == served, "loading it onto the day changes nothing"
    with the_world.client("organiser") as http:
        assert http.get(f"/e/{slug}/programme.toml").text == text
        assert http.get(f"/e/{slug}").status_code == 200
    with the_world.client() as http:
        assert http.get(f"/e/{slug}").status_code == 404, "loading a file does not publish a draft"


def test_publish_and_unpublish(the_world):
    slug = the_world.new_day(region="Dalarna", date="2027-04-05")
    with the_world.client() as anonymous, the_world.client("organiser") as organiser:
        assert anonymous.get(f"/e/{slug}").status_code == 404
        assert organiser.post(f"/api/v1/events/{slug}/publish").json() == {"slug": slug, "published": True}
        assert anonymous.get(f"/e/{slug}").status_code == 200 and slug in anonymous.get("/").text
        assert anonymous.post(f"/api/v1/events/{slug}/join", json={}).status_code == 201
        assert form(organiser, f"/studio/e/{slug}/publish", {"published": "false"}).status_code == 303
        assert "Utkast" in organiser.get(f"/studio/e/{slug}").text
        assert anonymous.get(f"/e/{slug}").status_code == 404


def test_an_edit_during_the_day_reaches_open_pages(the_world):
    slug = the_world.new_day(region="Skåne", date="2027-04-06")
    with the_world.client("organiser") as http:
        http.post(f"/api/v1/events/{slug}/publish")
        token = http.post(f"/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
        values = field_values(http.get(f"/studio/e/{slug}/blocks/block-2").text)

        async def scenario() -> str:
            async with websockets.connect(f"{the_world.server.ws_url}/e/{slug}/ws?token={token}") as ws:
                while True:  # the snapshot first
                    try:
                        await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        break
                await asyncio.to_thread(form, http, f"/studio/e/{slug}/blocks/block-2",
                                        {**values, "title": "Block 2: Rätt information i Skåne"})
                received = ""
                while "Rätt information i Skåne" not in received:
                    received += await asyncio.wait_for(ws.recv(), 10)
                return received

        pushed = asyncio.run(scenario())
    assert "Block 2: Rätt information i Skåne" in pushed


def test_a_file_loaded_with_agenda_load_can_be_edited_in_the_studio_unless_it_is_a_national_day(the_world):
    with the_world.client("organiser") as http:
        assert http.get(f"/e/{A}/programme.toml").status_code == 409, "loaded without its text (a test fixture)"
        path = PROGRAMMES_DIR / f"{A}.toml"
        loaded = cli(the_world.settings, "agenda", "load", str(path))
        assert loaded.returncode == 0, loaded.stderr
        assert http.get(f"/e/{A}/programme.toml").text == path.read_text("utf-8")
        values = field_values(http.get(f"/studio/e/{A}/blocks/block-4").text)
        assert form(http, f"/studio/e/{A}/blocks/block-4", {**values, "title": "Block 4 i Östergötland"}).status_code \
            == 303
        assert tomllib.loads(http.get(f"/e/{A}/programme.toml").text)["remove_blocks"] == ["introduktion-block"]
    national = cli(the_world.settings, "agenda", "load", str(PROGRAMMES_DIR / "nationell-ehalsodag-2022.toml"))
    assert national.returncode == 0, national.stderr
    with the_world.client("admin") as http:
        assert http.get("/e/nationell-ehalsodag-2022/programme.toml").status_code == 409
        assert "programfiler på servern" in http.get("/studio/e/nationell-ehalsodag-2022").text


def test_a_change_made_from_an_older_version_of_the_programme_is_refused(the_world):
    slug = the_world.new_day(region="Uppsala", date="2027-04-07")
    with the_world.client("organiser") as mine, the_world.client("admin") as theirs:
        page = mine.get(f"/studio/e/{slug}/blocks/block-2").text
        base = re.search(r'name="base" value="([0-9a-f]+)"', page).group(1)
        values = {**field_values(page), "base": base}
        download = theirs.get(f"/e/{slug}/programme.toml")
        assert download.headers["etag"] == f'"{base}"'
        their_values = field_values(theirs.get(f"/studio/e/{slug}/blocks/block-2").text)
        assert form(theirs, f"/studio/e/{slug}/blocks/block-2", {**their_values, "title": "Deras titel",
                                                                  "base": base}).status_code == 303
        stale = form(mine, f"/studio/e/{slug}/blocks/block-2", {**values, "title": "Min titel"})
        assert stale.status_code == 409 and "Somebody else changed" in html.unescape(stale.text) or \
            "någon annan" in html.unescape(stale.text).lower()
        assert 'value="Min titel"' in stale.text, "the form keeps what was typed"
        assert form(mine, f"/studio/e/{slug}/blocks/paus-0950/remove", {"base": base}).status_code == 409
        put = mine.put(f"/api/v1/events/{slug}/programme", content=download.content,
                       headers={"Content-Type": "application/toml", "If-Match": download.headers["etag"]})
        assert put.status_code == 409
        event = mine.get(f"/api/v1/events/{slug}").json()
        assert next(b for b in event["blocks"] if b["key"] == "block-2")["title"] == "Deras titel"
        assert "paus-0950" in [b["key"] for b in event["blocks"]]
        fresh = mine.get(f"/e/{slug}/programme.toml")
        assert mine.put(f"/api/v1/events/{slug}/programme", content=fresh.content,
                        headers={"Content-Type": "application/toml", "If-Match": fresh.headers["etag"]}
                        ).status_code == 200


@pytest.mark.parametrize("extends", ["../../pyproject.toml", "/etc/hostname", "ostergotland-2021-03-23.toml",
                                     "nationell-ehalsodag-2022/ostergotland.toml", "..\\\\ramprogram-2021.toml"])
def test_an_uploaded_file_extends_only_a_framework_programme_of_the_server(the_world, extends):
    slug = the_world.new_day(region=f"Test {abs(hash(extends)) % 10_000}", date="2027-04-08")
    with the_world.client("organiser") as http:
        text = http.get(f"/e/{slug}/programme.toml").text
        changed = text.replace('extends = "ramprogram-2021.toml"', f'extends = "{extends}"')
        response = http.put(f"/api/v1/events/{slug}/programme", content=changed.encode(),
                            headers={"Content-Type": "application/toml"})
        assert response.status_code == 422
        [problem] = response.json()["extra"]
        assert problem["path"] == "event.extends" and "ramprogram-2021.toml" in problem["message"]
        assert "project" not in response.text and "build-system" not in response.text
        assert http.get(f"/e/{slug}/programme.toml").text == text


def test_a_block_is_replaced_or_added_through_the_json_api_with_the_forms_struct(the_world):
    slug = the_world.new_day(region="Värmland", date="2027-04-09")
    with the_world.client("organiser") as http:
        url = f"/api/v1/events/{slug}/blocks/block-4"
        bad = http.put(url, json={"title": "Block 4", "kind": "panel", "start": "14:05", "end": "14:00"})
        assert bad.status_code == 422
        assert {"field": "end", "message": "ends (14:00) before or when it starts (14:05)"} in bad.json()["extra"]
        assert http.put(url, json={"title": "x", "unknown": 1}).status_code == 400, "the Struct refuses strangers"
        etag = http.get(f"/e/{slug}/programme.toml").headers["etag"]
        good = http.put(url, headers={"If-Match": etag}, json={
            "title": "Block 4: Digital transformation i Värmland", "kind": "panel", "start": "14:05", "end": "15:05",
            "speakers": [{"name": "Eva Ek", "role": "CIO", "organisation": "Region Värmland"}],
            "poll_kind": "wordcloud", "poll_question": "Ett ord om samverkan?"})
        assert good.status_code == 200, good.text
        assert http.put(url, headers={"If-Match": etag}, json={"title": "y", "kind": "talk", "start": "14:05",
                                                                "end": "15:05"}).status_code == 409
        added = http.put(f"/api/v1/events/{slug}/blocks/kvallsmingel", json={
            "title": "Kvällsmingel", "kind": "break", "start": "16:30", "end": "17:30"})
        assert added.status_code == 200
        event = http.get(f"/api/v1/events/{slug}").json()
        block = next(b for b in event["blocks"] if b["key"] == "block-4")
        assert block["title"] == "Block 4: Digital transformation i Värmland"
        assert block["speakers"] == [{"name": "Eva Ek", "role": "CIO", "organisation": "Region Värmland"}]
        assert event["blocks"][-1]["key"] == "kvallsmingel"
        polls = http.get(f"/api/v1/events/{slug}/polls").json()
        assert any(p["kind"] == "wordcloud" and p["question"] == "Ett ord om samverkan?" for p in polls)
    with the_world.client("moderator") as http:
        assert http.put(f"/api/v1/events/{slug}/blocks/block-4", json={"title": "z"}).status_code in (403, 404)


@pytest.mark.parametrize(("fields", "message"), [
    ({"region": "Norrbotten", "date": "inte ett datum"}, "ÅÅÅÅ-MM-DD"),
    ({"region": "   ", "date": "2027-04-10"}, "Ange regionen"),
    ({"region": "Norrbotten", "date": "1999-01-01"}, "Ange dagens datum"),
    ({"region": "Norrbotten", "date": "2027-04-10", "framework": "../../pyproject.toml"}, "Inget ramprogram heter"),
])
def test_the_new_day_form_refuses_bad_input_beside_the_form_and_makes_nothing(the_world, fields, message):
    with the_world.client("organiser") as http:
        before = http.get("/studio").text.count('id="studio-event-')
        response = form(http, "/studio/new", {"framework": FRAMEWORK, **fields})
        assert response.status_code == 422 and message in html.unescape(response.text)
        assert 'id="new-day-error"' in response.text and 'aria-describedby="new-day-error"' in response.text
        assert http.get("/studio").text.count('id="studio-event-') == before


def test_two_saves_made_from_the_same_version_at_once_never_both_win(the_world):
    from concurrent.futures import ThreadPoolExecutor

    slug = the_world.new_day(region="Västerbotten", date="2027-04-11")
    with the_world.client("organiser") as first, the_world.client("admin") as second:
        for round_ in range(4):
            page = first.get(f"/studio/e/{slug}/blocks/block-3").text
            base = re.search(r'name="base" value="([0-9a-f]+)"', page).group(1)
            values = field_values(page)
            bodies = [(http, {**values, "title": f"Titel {round_} från {who}", "base": base})
                      for http, who in ((first, "första"), (second, "andra"))]
            with ThreadPoolExecutor(2) as pool:
                statuses = sorted(pool.map(lambda pair: form(pair[0], f"/studio/e/{slug}/blocks/block-3",
                                                             pair[1]).status_code, bodies))
            assert statuses == [303, 409], statuses
