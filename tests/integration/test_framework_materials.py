"""The framework's landing place, rehearsals and the archive, through the served app on both databases:
who may do what (every new route × admin, national organiser, organiser of this day, organiser of another,
moderator, attendee, anonymous), uploads that must be refused (wrong types, too large, disguised HTML/SVG, path
tricks in names), downloads that can never render as a page, and a rehearsal that leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from ehalsodag.db.base import metadata
from ehalsodag.db.migrate import upgrade
from tests.conftest import load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.support.postgres import fresh_database

FRAMEWORK = "ramprogram-2021"
DAY = "ostergotland-2021-03-23"
OTHER_DAY = "jamtland-harjedalen-2021-05-25"
NO_FRAMEWORK = "webinar-2020-12"
NATIONAL_DAY = "nationell-ehalsodag-2022"
ROLES = ("anonymous", "attendee", "moderator", "organiser", "other_organiser", "national", "admin")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")


def office(kind: str) -> bytes:
    """A minimal .docx or .pptx (a zip with the parts that make it one)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if kind == "docx" else "ppt/presentation.xml", "<x/>")
    return buffer.getvalue()


@dataclass
class World:
    """A served app with the framework, two days extending it and a day without one."""

    base_url: str
    tokens: dict[str, str]
    settings: object
    upload_dir: Path

    @contextmanager
    def client(self, role: str) -> Iterator[httpx.Client]:
        """An HTTP client speaking for ``role`` (a bearer token; each also carries a CSRF cookie)."""
        with httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30) as client:
            client.get("/login")
            if role != "anonymous":
                client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
            yield client

    def csrf(self, client: httpx.Client) -> dict[str, str]:
        return {"_csrf_token": client.cookies.get("csrftoken") or ""}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    if request.param == "postgresql" and not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL to run on PostgreSQL too")
    tmp = tmp_path_factory.mktemp(f"materials-{request.param}")
    with (fresh_database(DATABASE_URL, "ehalsodag_mat") if request.param == "postgresql"
          else nullcontext(None)) as url:
        settings = make_settings(tmp, database_url=url)
        upgrade(settings)
        for name in (FRAMEWORK, DAY, OTHER_DAY, NO_FRAMEWORK, NATIONAL_DAY):
            run_sync(load_fixture(settings, f"{name}.toml"))
        tokens = {
            "moderator": run_sync(make_staff(settings, "mod@example.se", "moderator", DAY)),
            "organiser": run_sync(make_staff(settings, "org@example.se", "organiser", DAY)),
            "other_organiser": run_sync(make_staff(settings, "jamt@example.se", "organiser", OTHER_DAY)),
            "national": run_sync(make_staff(settings, "national@example.se", "organiser", FRAMEWORK)),
            "admin": run_sync(make_staff(settings, "admin@example.se", "admin")),
        }
        with pytest.MonkeyPatch.context() as env:
            env.setenv("EHALSODAG_UPLOAD_MAX_MB", "1")
            server = start_server(settings, tmp / "server.log")
        tokens["attendee"] = httpx.post(f"{server.base_url}/api/v1/events/{DAY}/join",
                                        json={}).json()["attendee_token"]
        try:
            yield World(server.base_url, tokens, settings, tmp / "uploads")
        finally:
            stop_server(server)


def upload(world: World, role: str, slug: str, name: str, content: bytes, *, title: str = "Material",
           content_type: str = "application/octet-stream", csrf: bool = True) -> httpx.Response:
    with world.client(role) as client:
        data = world.csrf(client) if csrf else {}
        return client.post(f"/e/{slug}/framework/materials", data={**data, "title": title},
                           files={"file": (name, content, content_type)})


def raw_upload(world: World, role: str, slug: str, filename: str, content: bytes) -> httpx.Response:
    """An upload whose file name reaches the server byte for byte (httpx would escape NUL and quotes)."""
    boundary = "rawboundary42"
    with world.client(role) as client:
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf_token\"\r\n\r\n"
                f"{client.cookies.get('csrftoken')}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                f"name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
        body += content + f"\r\n--{boundary}--\r\n".encode()
        return client.post(f"/e/{slug}/framework/materials", content=body,
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})


def material_ids(world: World, role: str, slug: str) -> list[int]:
    with world.client(role) as client:
        page = client.get(f"/e/{slug}/framework").text
    return [int(i) for i in re.findall(r'id="material-(\d+)"', page)]


def refused(response: httpx.Response) -> bool:
    return response.status_code in (401, 403)


# --- who may do what ---------------------------------------------------------------------------------------


def test_who_may_see_upload_and_download_framework_materials(world):
    assert upload(world, "national", FRAMEWORK, "seed.pdf", PDF).status_code == 303
    seed = material_ids(world, "national", FRAMEWORK)[0]
    spare = []
    for _ in ROLES:  # one material per role to try deleting
        upload(world, "admin", FRAMEWORK, "spare.pdf", PDF)
    spare = [i for i in material_ids(world, "admin", FRAMEWORK) if i != seed]
    on_day = {"moderator", "organiser", "admin"}
    on_framework = {"national", "admin"}
    wrong = []
    for index, role in enumerate(ROLES):
        with world.client(role) as client:
            csrf = world.csrf(client)
            attempts = {
                f"GET /e/{DAY}/framework": (client.get(f"/e/{DAY}/framework"), on_day),
                f"GET /e/{FRAMEWORK}/framework": (client.get(f"/e/{FRAMEWORK}/framework"), on_framework),
                f"GET /e/{OTHER_DAY}/framework": (client.get(f"/e/{OTHER_DAY}/framework"),
                                                  {"other_organiser", "admin"}),
                f"GET /e/{DAY}/framework/materials/{{id}}": (
                    client.get(f"/e/{DAY}/framework/materials/{seed}"), on_day),
                f"GET /e/{FRAMEWORK}/framework/materials/{{id}}": (
                    client.get(f"/e/{FRAMEWORK}/framework/materials/{seed}"), on_framework),
                f"POST /e/{DAY}/framework/materials": (upload(world, role, DAY, "x.pdf", PDF), on_framework),
                f"POST /e/{FRAMEWORK}/framework/links": (client.post(
                    f"/e/{FRAMEWORK}/framework/links",
                    data={**csrf, "title": "Film", "url": "https://www.youtube.com/watch?v=EXAMPLE9"}), on_framework),
                f"POST /e/{DAY}/framework/materials/{{id}}/delete": (client.post(
                    f"/e/{DAY}/framework/materials/{spare[index]}/delete", data=csrf), on_framework),
            }
        for name, (response, allowed) in attempts.items():
            if response.status_code >= 500 or refused(response) == (role in allowed):
                wrong.append(f"{name}: {response.status_code} for {role}")
    assert wrong == [], "\n".join(wrong)


def test_a_day_without_a_framework_has_no_landing_place(world):
    with world.client("admin") as client:
        assert client.get(f"/e/{NO_FRAMEWORK}/framework").status_code == 404
        assert client.get(f"/e/{NO_FRAMEWORK}/framework/materials/1").status_code == 404
    assert upload(world, "admin", NO_FRAMEWORK, "x.pdf", PDF).status_code == 404


def test_a_material_of_one_framework_is_not_reachable_through_a_day_of_another(world):
    upload(world, "national", FRAMEWORK, "only-here.pdf", PDF)
    material = material_ids(world, "national", FRAMEWORK)[0]
    with world.client("admin") as client:
        assert client.get(f"/e/{NO_FRAMEWORK}/framework/materials/{material}").status_code == 404
        assert client.get(f"/e/{DAY}/framework/materials/{material + 10_000}").status_code == 404


# --- uploads that must be refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content"), [
    ("evil.pdf", b"<!doctype html><script>alert(1)</script>"),
    ("evil.pdf", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
    ("evil.png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    ("page.html", b"<html><body>hi</body></html>"),
    ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ("notes.txt", b"just text"),
    ("tool.exe", b"MZ\x90\x00"),
    ("slides.pptx", office("docx")),  # a Word file named as slides
    ("letter.docx", b"PK\x03\x04not a zip at all"),
    ("empty.pdf", b""),
    ("noextension", PDF),
])
def test_wrong_or_disguised_types_are_refused_and_nothing_is_kept(world, name, content):
    before = material_ids(world, "national", FRAMEWORK)
    files_before = sorted(p.name for p in world.upload_dir.glob("*")) if world.upload_dir.exists() else []
    response = upload(world, "national", FRAMEWORK, name, content, content_type="application/pdf")
    assert response.status_code == 422, response.text
    assert "PDF" in response.text  # the reason is shown beside the field
    assert material_ids(world, "national", FRAMEWORK) == before
    assert sorted(p.name for p in world.upload_dir.glob("*")) == files_before  # no temporary file left


def test_a_file_over_the_limit_is_refused_early_and_leaves_nothing(world):
    before = material_ids(world, "national", FRAMEWORK)
    big = PDF + b"0" * (1024 * 1024 + 10)
    response = upload(world, "national", FRAMEWORK, "big.pdf", big)
    assert response.status_code == 413
    assert material_ids(world, "national", FRAMEWORK) == before
    assert not [p for p in world.upload_dir.glob(".upload-*")]


def test_a_chunked_upload_over_the_limit_is_stopped_while_streaming(world):
    """No Content-Length to refuse up front: the limit is counted while the body streams in."""
    boundary = "bnd123"
    with world.client("national") as client:
        token = client.cookies.get("csrftoken")

        def body():
            yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf_token\"\r\n\r\n{token}\r\n"
                   f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
                   f"Content-Type: application/pdf\r\n\r\n").encode()
            yield PDF
            for _ in range(40):
                yield b"0" * 65536
            yield f"\r\n--{boundary}--\r\n".encode()

        try:
            response = client.post(f"/e/{FRAMEWORK}/framework/materials", content=body(),
                                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
            assert response.status_code == 413
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server answered 413 and closed while we were still sending: also refused
    assert not [p for p in world.upload_dir.glob(".upload-*")]


def test_an_upload_without_the_csrf_token_is_refused(world):
    with httpx.Client(base_url=world.base_url) as browser:
        browser.get("/login")
        login = browser.post("/login", data={"email": "national@example.se", "password": "correct horse battery",
                                             "_csrf_token": browser.cookies.get("csrftoken")})
        assert login.status_code in (200, 303)
        before = material_ids(world, "national", FRAMEWORK)
        response = browser.post(f"/e/{FRAMEWORK}/framework/materials", data={"title": "x"},
                                files={"file": ("a.pdf", PDF, "application/pdf")})
        assert response.status_code == 403
        assert material_ids(world, "national", FRAMEWORK) == before
        ok = browser.post(f"/e/{FRAMEWORK}/framework/materials",
                          data={"_csrf_token": browser.cookies.get("csrftoken"), "title": "x"},
                          files={"file": ("a.pdf", PDF, "application/pdf")})
        assert ok.status_code == 303


@pytest.mark.parametrize(("name", "shown"), [
    ("../../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
    ("/abs/path/slides.pdf", "slides.pdf"),
    ("evil\x00.html.pdf", "evil.html.pdf"),
    ("cv\u202efdp.exe.pdf", "cvfdp.exe.pdf"),
    ("Årsrapport – Östergötland.pdf", "Årsrapport – Östergötland.pdf"),
    ("A\u030arsrapport.pdf", "Årsrapport.pdf"),  # decomposed å, shown composed
])
def test_names_cannot_choose_where_a_file_is_stored_and_are_shown_clean(world, name, shown):
    response = raw_upload(world, "national", FRAMEWORK, name, PDF)
    assert response.status_code == 303, response.text
    material = material_ids(world, "national", FRAMEWORK)[0]
    stored = sorted(p.name for p in world.upload_dir.iterdir())
    assert all(re.fullmatch(r"[0-9a-f]{32}\.[a-z]+", n) for n in stored), stored
    assert not (world.upload_dir.parent / "etc").exists()
    with world.client("organiser") as client:
        download = client.get(f"/e/{DAY}/framework/materials/{material}")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "\x00" not in disposition and "/" not in disposition.split("filename*=")[0]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == shown


@pytest.mark.parametrize(("name", "content", "media_type"), [
    ("deck.pptx", office("pptx"), "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("guide.docx", office("docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("photo.png", PNG, "image/png"),
    ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image/jpeg"),
    ("runsheet.pdf", PDF, "application/pdf"),
])
def test_accepted_types_download_as_attachments_that_never_render(world, name, content, media_type):
    assert upload(world, "national", FRAMEWORK, name, content, content_type="text/html").status_code == 303
    material = material_ids(world, "national", FRAMEWORK)[0]
    with world.client("moderator") as client:
        response = client.get(f"/e/{DAY}/framework/materials/{material}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"].split(";")[0] == media_type  # ours, not what the uploader claimed
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_new_since_last_visit_per_person(world):
    upload(world, "national", FRAMEWORK, "old.pdf", PDF, title="Gammal planeringsguide")
    old = material_ids(world, "national", FRAMEWORK)[0]
    with world.client("other_organiser") as client:
        client.get(f"/e/{OTHER_DAY}/framework")  # has seen everything so far
        assert 'class="material new"' not in client.get(f"/e/{OTHER_DAY}/framework").text
    upload(world, "national", FRAMEWORK, "fresh.pdf", PDF, title="Färsk körschema")
    fresh = material_ids(world, "national", FRAMEWORK)[0]
    with world.client("other_organiser") as client:
        page = client.get(f"/e/{OTHER_DAY}/framework").text
        assert "1 ny sedan ditt senaste besök" in page
        item = page.split(f'id="material-{fresh}"')[1].split("</li>")[0]
        assert 'class="badge"' in item and "Färsk körschema" in item
        assert 'class="badge"' not in page.split(f'id="material-{old}"')[1].split("</li>")[0]
        assert 'class="material new"' not in client.get(f"/e/{OTHER_DAY}/framework").text
    with world.client("organiser") as client:  # another person: their own last visit
        page = client.get(f"/e/{DAY}/framework").text
        assert 'class="badge"' in page.split(f'id="material-{fresh}"')[1].split("</li>")[0]


# --- rehearsal ------------------------------------------------------------------------------------------------


def _counts(world: World) -> dict[str, int]:
    """Rows in every table of the database."""

    async def count() -> dict[str, int]:
        engine = create_async_engine(world.settings.database_url)
        try:
            async with engine.connect() as connection:
                return {table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                        for table in metadata.sorted_tables}
        finally:
            await engine.dispose()

    return run_sync(count())


def test_a_rehearsal_copies_the_day_to_today_and_deleting_it_leaves_nothing_behind(world):
    before = _counts(world)
    with world.client("moderator") as client:
        made = client.post(f"/e/{DAY}/rehearsal", data=world.csrf(client))
        assert made.status_code == 303
        copy = made.headers["location"].split("/")[2]
        assert copy != DAY and copy.startswith(DAY)
        original = client.get(f"/api/v1/events/{DAY}").json()
        rehearsed = client.get(f"/api/v1/events/{copy}").json()
        today = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
        assert rehearsed["date"] == today != original["date"]
        assert [b["title"] for b in rehearsed["blocks"]] == [b["title"] for b in original["blocks"]]
        panel = client.get(f"/e/{copy}/control")
        assert panel.status_code == 200 and "rehearsal-banner" in panel.text
        assert "rehearsal-banner" in httpx.get(f"{world.base_url}/e/{copy}").text
        assert "rehearsal-banner" in httpx.get(f"{world.base_url}/e/{copy}/screen").text  # the projector too
        assert "rehearsal-banner" not in httpx.get(f"{world.base_url}/e/{DAY}/screen").text
        assert "rehearsal-banner" not in client.get(f"/e/{DAY}/control").text
        # use it: join, ask, vote, go live
        attendee = httpx.post(f"{world.base_url}/api/v1/events/{copy}/join", json={"display_name": "Övning"}).json()
        auth = {"Authorization": f"Bearer {attendee['attendee_token']}"}
        assert httpx.post(f"{world.base_url}/api/v1/events/{copy}/questions", json={"text": "Hörs ljudet?"},
                          headers=auth).status_code == 201
        block = rehearsed["blocks"][1]["id"]
        assert client.post(f"/api/v1/events/{copy}/live", json={"block_id": block}).status_code == 200
        assert copy not in httpx.get(f"{world.base_url}/").text  # not listed for the public
        assert client.post(f"/e/{DAY}/rehearsal/delete", data=world.csrf(client)).status_code == 409
        gone = client.post(f"/e/{copy}/rehearsal/delete", data=world.csrf(client))
        assert gone.status_code == 303 and gone.headers["location"] == f"/e/{DAY}/control"
        assert client.get(f"/api/v1/events/{copy}").status_code == 404
    after = _counts(world)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert changed == {"audit_entry": (before["audit_entry"], before["audit_entry"] + 2)}, changed


@pytest.mark.parametrize("slug", [NATIONAL_DAY, NO_FRAMEWORK, FRAMEWORK])
def test_any_event_can_be_rehearsed_and_its_rehearsal_deleted_without_a_trace(world, slug):
    before = _counts(world)
    with world.client("admin") as client:
        original = client.get(f"/api/v1/events/{slug}").json()
        made = client.post(f"/e/{slug}/rehearsal", data=world.csrf(client))
        assert made.status_code == 303, made.text
        copy = made.headers["location"].split("/")[2]
        rehearsed = client.get(f"/api/v1/events/{copy}").json()
        assert [(b["key"], b["title"]) for b in rehearsed["blocks"]] == \
            [(b["key"], b["title"]) for b in original["blocks"]]
        assert [s["name"] for s in rehearsed["stages"]] == [s["name"] for s in original["stages"]]
        codes = {s["join_code"] for s in rehearsed["stages"]} | {rehearsed["join_code"]}
        assert not codes & ({s["join_code"] for s in original["stages"]} | {original["join_code"]})
        assert len(client.get(f"/api/v1/events/{copy}/polls").json()) == \
            len(client.get(f"/api/v1/events/{slug}/polls").json())
        assert client.post(f"/e/{copy}/rehearsal", data=world.csrf(client)).status_code == 409
        assert client.post(f"/e/{copy}/rehearsal/delete", data=world.csrf(client)).status_code == 303
    after = _counts(world)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert changed == {"audit_entry": (before["audit_entry"], before["audit_entry"] + 2)}, changed


def test_who_may_rehearse_and_delete_a_rehearsal(world):
    copies = []
    with world.client("admin") as client:
        for _ in ROLES:
            copies.append(client.post(f"/e/{DAY}/rehearsal", data=world.csrf(client)).headers["location"]
                          .split("/")[2])
    staff = {"moderator", "organiser", "admin"}
    wrong = []
    for role, copy in zip(ROLES, copies, strict=True):
        with world.client(role) as client:
            for name, response in {
                "POST rehearsal": client.post(f"/e/{DAY}/rehearsal", data=world.csrf(client)),
                "POST rehearsal/delete": client.post(f"/e/{copy}/rehearsal/delete", data=world.csrf(client)),
            }.items():
                if response.status_code >= 500 or refused(response) == (role in staff):
                    wrong.append(f"{name}: {response.status_code} for {role}")
    assert wrong == [], "\n".join(wrong)


# --- archive --------------------------------------------------------------------------------------------------


def test_the_archive_shows_what_the_organiser_published(world):
    with world.client("moderator") as client:
        polls = client.get(f"/api/v1/events/{DAY}/polls").json()
        poll = polls[0]["id"]
        attendee = {"Authorization": f"Bearer {world.tokens['attendee']}"}
        question = httpx.post(f"{world.base_url}/api/v1/events/{DAY}/questions", json={"text": "Vem betalar?"},
                              headers=attendee).json()["id"]
        client.post(f"/api/v1/questions/{question}/moderate", json={"action": "answer"})
        assert client.post(f"/api/v1/events/{DAY}/evaluation/open", json={"minutes": 30}).status_code < 300
        assert httpx.post(f"{world.base_url}/api/v1/events/{DAY}/evaluation", headers=attendee, json={
            "answers": {"helhet": 5, "aterkommande": "yes", "kommentar": "Hemlig kommentar"}}).status_code == 201
    page = httpx.get(f"{world.base_url}/e/{DAY}/archive")
    assert page.status_code == 200
    assert "Vem betalar?" in page.text
    assert f'id="archive-poll-{poll}"' not in page.text
    # chapter links into the day's one recording: the second block began 09:05, five minutes in
    assert "watch?v=EXAMPLE0101&amp;t=0s" in page.text and "watch?v=EXAMPLE0101&amp;t=300s" in page.text
    assert httpx.get(f"{world.base_url}/e/{DAY}/archive/evaluation").status_code == 404
    wrong = []
    for role in ROLES:
        with world.client(role) as client:
            for name, response in {
                "publish poll": client.post(f"/e/{DAY}/archive/polls/{poll}/publish",
                                            data={**world.csrf(client), "published": "1"}),
                "publish evaluation": client.post(f"/e/{DAY}/archive/evaluation/publish",
                                                  data={**world.csrf(client), "published": "1"}),
            }.items():
                if response.status_code >= 500 or refused(response) == (role in {"organiser", "admin"}):
                    wrong.append(f"{name}: {response.status_code} for {role}")
    assert wrong == [], "\n".join(wrong)
    page = httpx.get(f"{world.base_url}/e/{DAY}/archive")
    assert f'id="archive-poll-{poll}"' in page.text and 'id="evaluation-summary-link"' in page.text
    summary = httpx.get(f"{world.base_url}/e/{DAY}/archive/evaluation")
    assert summary.status_code == 200 and "n = 1" in summary.text
    assert "Hemlig kommentar" not in summary.text and "Hemlig kommentar" not in page.text  # free text stays in
    with world.client("organiser") as client:  # and withdrawn again
        client.post(f"/e/{DAY}/archive/evaluation/publish", data=world.csrf(client))
    assert httpx.get(f"{world.base_url}/e/{DAY}/archive/evaluation").status_code == 404



def _memory_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's RSS from /proc")
def test_a_large_upload_streams_to_disk_without_holding_it_in_memory(settings, tmp_path):
    """40 MB in, and the server's peak memory grows by far less than 40 MB: the body is never held whole (not even
    once). The peak (VmHWM) is reset first, so a body read into memory and freed again would still show."""
    run_sync(load_fixture(settings, f"{FRAMEWORK}.toml"))
    token = run_sync(make_staff(settings, "national@example.se", "organiser", FRAMEWORK))
    server = start_server(settings, tmp_path / "server.log")
    try:
        headers = {"Authorization": f"Bearer {token}", "accept": "application/json"}
        warm = httpx.post(f"{server.base_url}/e/{FRAMEWORK}/framework/materials", headers=headers,
                          files={"file": ("warm.pdf", PDF, "application/pdf")})
        assert warm.status_code == 201
        with open(f"/proc/{server.process.pid}/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak to the current size
        before = _memory_kib(server.process.pid, "VmHWM")
        body = PDF + os.urandom(40 * 1024 * 1024)
        response = httpx.post(f"{server.base_url}/e/{FRAMEWORK}/framework/materials", headers=headers,
                              files={"file": ("big.pdf", body, "application/pdf")}, timeout=120)
        assert response.status_code == 201, response.text
        assert response.json()["size"] == len(body)
        grown = _memory_kib(server.process.pid, "VmHWM") - before
        assert grown < 16 * 1024, f"the server grew by {grown} KiB for a 40 MiB upload"
        stored = [p for p in (tmp_path / "uploads").iterdir() if p.suffix == ".pdf" and p.stat().st_size == len(body)]
        assert len(stored) == 1 and stored[0].read_bytes() == body
    finally:
        stop_server(server)


def test_the_accepted_types_are_configurable(settings, tmp_path, monkeypatch):
    run_sync(load_fixture(settings, f"{FRAMEWORK}.toml"))
    token = run_sync(make_staff(settings, "national@example.se", "organiser", FRAMEWORK))
    monkeypatch.setenv("EHALSODAG_UPLOAD_TYPES", "pdf, .DOCX")
    server = start_server(settings, tmp_path / "server.log")
    try:
        auth = {"Authorization": f"Bearer {token}"}
        page = httpx.get(f"{server.base_url}/e/{FRAMEWORK}/framework", headers=auth).text
        assert 'accept=".pdf,.docx"' in page and "Tillåtna typer: PDF, Word (.docx);" in page
        refused = httpx.post(f"{server.base_url}/e/{FRAMEWORK}/framework/materials", headers=auth,
                             files={"file": ("photo.png", PNG, "image/png")})
        assert refused.status_code == 422 and "Tillåtna typer: PDF, Word (.docx)" in refused.text
        for name, content in (("a.pdf", PDF), ("b.docx", office("docx"))):
            assert httpx.post(f"{server.base_url}/e/{FRAMEWORK}/framework/materials", headers=auth,
                              files={"file": (name, content, "application/octet-stream")}).status_code == 303
    finally:
        stop_server(server)
    from ehalsodag.settings import configuration_problems, load_settings

    monkeypatch.setenv("EHALSODAG_UPLOAD_TYPES", "pdf,svg,html")
    monkeypatch.setenv("EHALSODAG_VAR_DIR", str(tmp_path))
    problems = configuration_problems(load_settings(), workers=1, host="127.0.0.1")
    assert any(p.startswith("EHALSODAG_UPLOAD_TYPES") and "svg, html" in p for p in problems)


def test_temporary_files_left_by_a_crash_are_swept_by_the_next_upload(world):
    world.upload_dir.mkdir(parents=True, exist_ok=True)
    stale, fresh = world.upload_dir / ".upload-crashed", world.upload_dir / ".upload-in-progress"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    os.utime(stale, (1, 1))
    assert upload(world, "national", FRAMEWORK, "next.pdf", PDF).status_code == 303
    assert not stale.exists() and fresh.exists()
    fresh.unlink()


def test_deleting_a_rehearsal_with_sockets_open_does_not_stop_attendance_of_other_days(settings, tmp_path):
    """Sockets still open on a deleted rehearsal must not make the attendance sample (one transaction for every
    event) fail on the missing event: the real day's attendance goes on being recorded."""
    import asyncio
    from dataclasses import replace

    import websockets

    settings = replace(settings, attendance_seconds=0.5)
    run_sync(load_fixture(settings, f"{DAY}.toml"))
    token = run_sync(make_staff(settings, "mod@example.se", "moderator", DAY))
    server = start_server(settings, tmp_path / "server.log")
    staff = {"Authorization": f"Bearer {token}"}

    async def last_seen_on_day() -> object:
        engine = create_async_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(
                    "SELECT max(a.last_seen_at) FROM attendee a JOIN event e ON e.id = a.event_id WHERE e.slug = :s"),
                    {"s": DAY})).scalar()
        finally:
            await engine.dispose()

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, headers=staff) as client:
            await client.get("/login")
            csrf = {"_csrf_token": client.cookies.get("csrftoken")}
            made = await client.post(f"/e/{DAY}/rehearsal", data=csrf)
            copy = made.headers["location"].split("/")[2]
            on_copy = (await client.post(f"/api/v1/events/{copy}/join", json={})).json()["attendee_token"]
            on_day = (await client.post(f"/api/v1/events/{DAY}/join", json={})).json()["attendee_token"]
            async with websockets.connect(f"{server.ws_url}/e/{copy}/ws?token={on_copy}") as rehearsal_socket, \
                    websockets.connect(f"{server.ws_url}/e/{DAY}/ws?token={on_day}") as day_socket:
                await rehearsal_socket.recv()
                await day_socket.recv()
                await asyncio.sleep(1.2)
                assert (await client.post(f"/e/{copy}/rehearsal/delete", data=csrf)).status_code == 303
                before = await last_seen_on_day()
                await asyncio.sleep(2.5)  # several samples with the rehearsal's socket still open
                assert before is not None and await last_seen_on_day() > before

    try:
        asyncio.run(scenario())
        assert "attendance sample failed" not in server.log()
    finally:
        stop_server(server)


def test_a_day_made_in_the_studio_opens_its_framework_landing_place(world):
    # the day exists only in the database (its programme text kept on the event), not as a file on disk
    with world.client("admin") as client:
        made = client.post("/api/v1/events", json={"framework": f"{FRAMEWORK}.toml", "region": "Gotland",
                                                   "date": "2027-06-01"})
        assert made.status_code == 201, made.text
        slug = made.json()["slug"]
        page = client.get(f"/e/{slug}/framework")
    assert page.status_code == 200, page.text[:300]
    with world.client("national") as client:
        framework = client.get(f"/e/{FRAMEWORK}/framework")
    assert framework.status_code == 200
