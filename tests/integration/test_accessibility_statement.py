"""The accessibility statement says what Digg's rules under the act (2018:1937) ask of it, in Swedish and English:
the public body, compliance status, the known shortcomings with their reasons, exceptions, the date and method of
the assessment, where to report a barrier, and the link to Digg's notification form."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from ehalsodag.agenda.routes import ACCESSIBILITY_ASSESSED
from ehalsodag.app import create_app
from ehalsodag.db.migrate import upgrade
from ehalsodag.i18n import use_language
from ehalsodag.settings import Settings
from ehalsodag.web.templating import long_date
from tests.conftest import load_fixture, make_settings
from tests.support.postgres import fresh_database

DIGG = '<a href="https://www.digg.se/tdosanmalan"'


def headings(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", page)]


async def test_the_statement_meets_diggs_requirements_in_swedish_and_english(settings: Settings):
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    configured = replace(settings, operator="Region Östergötland", accessibility_contact="tillganglighet@example.se")
    async with AsyncTestClient(app=create_app(configured)) as client:
        swedish = (await client.get("/tillganglighet")).text
        assert "Region Östergötland ansvarar för den här webbplatsen" in swedish  # the public body
        assert "delvis förenlig med lagen om tillgänglighet till digital offentlig service" in swedish
        assert headings(swedish)[:4] == ["Hur tillgänglig är webbplatsen?", "Innehåll som inte är tillgängligt",
                                         "Bristande förenlighet med lagkraven", "Oskäligt betungande anpassning"]
        assert "Innehåll som inte omfattas av lagkraven" in headings(swedish)
        assert "WCAG 1.2.2" in swedish and "WCAG 2.2.2" in swedish  # each shortcoming names its criterion
        with use_language("sv"):
            assert f"Bedömningen den {long_date(ACCESSIBILITY_ASSESSED)} var en självskattning." in swedish
        assert "Redogörelsen uppdaterades senast den" in swedish
        assert '<a href="mailto:tillganglighet@example.se">tillganglighet@example.se</a>' in swedish
        assert DIGG in swedish

        await client.get("/lang/en?next=/accessibility")
        english = (await client.get("/accessibility")).text
        assert '<html lang="en">' in english and "partially compliant" in english
        assert ["Compliance status", "Content that is not accessible"] == headings(english)[:2]
        with use_language("en"):
            assert f"The assessment of {long_date(ACCESSIBILITY_ASSESSED)} was a self-assessment." in english
        assert "mailto:tillganglighet@example.se" in english and DIGG in english


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request, settings: Settings, tmp_path) -> Iterator[Settings]:
    """The test's SQLite database, or a fresh PostgreSQL one (EHALSODAG_TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield settings
        return
    url = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
    if not url:
        pytest.skip("EHALSODAG_TEST_DATABASE_URL is not set")
    with fresh_database(url, "ehalsodag_test") as database_url:
        migrated = make_settings(tmp_path, database_url=database_url)
        upgrade(migrated)
        yield migrated


async def test_without_configuration_the_organisers_are_named_and_asked(any_database: Settings):
    await load_fixture(any_database, "ostergotland-2021-03-23.toml")
    async with AsyncTestClient(app=create_app(any_database)) as client:
        page = (await client.get("/tillganglighet")).text
    assert "Region Östergötland och kommunerna i Östergötland ansvarar för den här webbplatsen" in page
    assert "Kontakta arrangören av e-hälsodagen du deltar i" in page and DIGG in page
