"""Issue 18, "Broken" items 3 and 5 where data is stored, on SQLite and on PostgreSQL: "My data" reads the stored
poll answers (JSON) as people gave them, and the English texts of a programme file are stored and shown."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from ehalsodag.app import create_app
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
from tests.conftest import load_fixture, load_programme, make_settings, make_staff
from tests.support.postgres import fresh_database

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")

#: A programme file with English texts for one block and one evaluation question, none for the others.
BILINGUAL = """[event]
slug = "tvasprakig"
title = "Tvåspråkig dag"
date = 2021-04-20
timezone = "Europe/Stockholm"

[evaluation]
open_minutes = 60

[[evaluation.questions]]
key = "helhet"
kind = "scale"
text = "Vad tyckte du om dagen?"
text_en = "What did you think of the day?"
labels = ["Mycket dålig", "Dålig", "Varken eller", "Bra", "Mycket bra"]
labels_en = ["Very poor", "Poor", "Neither", "Good", "Very good"]

[[evaluation.questions]]
key = "format"
kind = "choice"
text = "Vilket format föredrar du?"
labels = ["Digitalt", "På plats"]

[[stages]]
id = "main"
name = "Huvud"

[[blocks]]
id = "a"
kind = "talk"
start = "09:00"
end = "10:00"
title = "Invånaren som medskapare"
title_en = "The resident as co-creator"

[[blocks]]
id = "b"
kind = "panel"
start = "10:00"
end = "11:00"
title = "Samverkan i länet"
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Migrated settings on SQLite, then on a fresh PostgreSQL database (skipped without one)."""
    if request.param == "sqlite":
        value = make_settings(tmp_path)
        upgrade(value)
        yield value
        return
    if not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://)")
    with fresh_database(DATABASE_URL, "ehalsodag_broken") as url:
        value = make_settings(tmp_path, database_url=url)
        upgrade(value)
        yield value


async def test_my_data_shows_stored_answers_readably(both: Settings):
    slug = await load_fixture(both, "regional.toml")
    staff = {"Authorization": f"Bearer {await make_staff(both, 'admin@example.se', 'admin')}"}
    async with AsyncTestClient(app=create_app(both), base_url="http://testserver.local") as client:
        token = (await client.post(f"/api/v1/events/{slug}/join", json={})).json()["attendee_token"]
        me = {"Authorization": f"Bearer {token}"}

        async def poll(kind: str, options: list[str] | None = None, **extra: object) -> dict:
            body = {"kind": kind, "question": f"Fråga om {kind}", "options": options or [], **extra}
            poll_id = (await client.post(f"/api/v1/events/{slug}/polls", json=body, headers=staff)).json()["id"]
            assert (await client.post(f"/api/v1/polls/{poll_id}/open", headers=staff)).status_code in (200, 201)
            return next(p for p in (await client.get(f"/api/v1/events/{slug}/polls")).json() if p["id"] == poll_id)

        choice = await poll("multiple", ["Åre", "Östersund", "Gävle"], max_picks=2)
        ranking = await poll("ranking", ["Ett", "Två"])
        answers = [(choice, {"option_ids": [o["id"] for o in choice["options"][:2]]}),
                   (ranking, {"ranking": [o["id"] for o in ranking["options"]][::-1]}),
                   (await poll("wordcloud"), {"words": ["Öppenhet"]}),
                   (await poll("open_text"), {"text": 'Så här: {"ö"}'})]
        for target, answer in answers:
            response = await client.post(f"/api/v1/polls/{target['id']}/responses", json=answer, headers=me)
            assert response.status_code in (200, 201), response.text
        await client.post(f"/api/v1/events/{slug}/questions", json={"text": "Vem?"}, headers=me)
        page = (await client.get(f"/e/{slug}/me", headers=me)).text
    assert "Fråga om multiple: <strong>Åre, Östersund</strong>" in page
    assert "Fråga om ranking: <strong>1. Två, 2. Ett</strong>" in page
    assert "<strong>öppenhet</strong>" in page
    assert "Så här: {&#34;ö&#34;}" in page or "Så här: {&quot;ö&quot;}" in page
    assert "\\u00" not in page and "option_ids" not in page
    assert "(publicerad)" in page or "(väntar på godkännande)" in page


async def test_english_texts_of_a_programme_file_are_stored_and_shown(both: Settings, tmp_path: Path):
    path = tmp_path / "tvasprakig.toml"
    path.write_text(BILINGUAL, encoding="utf-8")
    slug = await load_programme(both, path)
    staff = {"Authorization": f"Bearer {await make_staff(both, 'admin@example.se', 'admin')}"}
    async with AsyncTestClient(app=create_app(both), base_url="http://testserver.local") as client:
        await client.post(f"/api/v1/events/{slug}/evaluation/open", json={"minutes": 30}, headers=staff)
        token = (await client.post(f"/api/v1/events/{slug}/join", json={})).json()["attendee_token"]
        client.cookies.set("ehd_lang", "en")
        english = (await client.get(f"/e/{slug}", headers={"Authorization": f"Bearer {token}"})).text
        client.cookies.set("ehd_lang", "sv")
        swedish = (await client.get(f"/e/{slug}", headers={"Authorization": f"Bearer {token}"})).text
    assert "The resident as co-creator" in english and "Invånaren som medskapare" not in english
    assert '<span lang="sv">Samverkan i länet</span>' in english
    assert "What did you think of the day?" in english and "Very good" in english
    assert "Invånaren som medskapare" in swedish and "The resident" not in swedish and "Mycket bra" in swedish
