"""Accessibility checks that hold for EVERY page, in a real browser: reflow at 320 px (WCAG 1.4.10), every
ARIA/label id reference resolves, headings never skip a level, scrollable regions can be reached by keyboard
(axe scrollable-region-focusable); plus the presenter screen's contrast in every poll kind and state, and the
poll instructions, the name field and the chat log as assistive technology gets them.

The list of pages is checked against the app's own route table: a new HTML page that this module does not
visit fails `test_every_html_page_is_visited`, so a page cannot join the app without these checks.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import skip_without_chromium
from tests.conftest import (
    STAFF_PASSWORD,
    ServedApp,
    load_fixture,
    load_programme,
    make_settings,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)
from tests.support import national_day

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SLUG = "ostergotland-2021-03-23"
NATIONAL = national_day.SLUG
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "screen"

skip_without_chromium()

from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

#: GET routes that answer something other than an HTML page (a redirect, a file, JSON); every other GET route
#: of the app is an HTML page and must be visited by `pages_visited` below.
NOT_PAGES = {
    "/j/{code:str}", "/lang/{code:str}", "/e/{slug:str}/schedule.json", "/e/{slug:str}/schedule.xml",
    "/e/{slug:str}/schedule.ics", "/e/{slug:str}/qr.svg", "/e/{slug:str}/results/export/{fmt:str}",
    "/e/{slug:str}/audit.csv", "/e/{slug:str}/results/report.pdf", "/healthz", "/readyz", "/static/{file_path:path}",
    "/e/{slug:str}/framework/materials/{material_id:int}", "/e/{slug:str}/programme.toml",
}

#: What a page must pass, run in the page: the page's width against the viewport's (and, when too wide, the
#: elements that stick out), id references that resolve, and the order of the headings.
PAGE_CHECKS = """() => {
  const problems = [];
  const width = window.innerWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  if (document.documentElement.scrollWidth > width) {
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.right > width + 1 && box.width > 0) {
        let inScroller = false;
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden') { inScroller = true; break; }
        }
        if (!inScroller) wide.push(name(el) + ' (right edge ' + Math.round(box.right) + ' px)');
      }
    }
    problems.push('horizontal scrolling: page is ' + document.documentElement.scrollWidth + ' px wide at ' +
                  width + ' px; widest: ' + wide.slice(-4).join(', '));
  }
  const refs = ['aria-labelledby', 'aria-describedby', 'aria-controls', 'aria-owns', 'aria-details',
                'aria-errormessage', 'aria-flowto', 'aria-activedescendant', 'headers', 'for', 'list', 'form'];
  for (const attr of refs) {
    for (const el of document.querySelectorAll('[' + attr + ']')) {
      if (el.tagName === 'OUTPUT' && attr === 'for') continue;
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) problems.push(name(el) + ' ' + attr + '="' + id + '": no such id');
      }
    }
  }
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) ids[el.id] = (ids[el.id] || 0) + 1;
  for (const [id, n] of Object.entries(ids)) if (n > 1) problems.push('id "' + id + '" used ' + n + ' times');
  let previous = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    if (h.closest('[hidden], template')) continue;
    const level = Number(h.tagName[1]);
    if (level > previous + 1) problems.push('heading ' + h.tagName + ' "' + h.textContent.trim().slice(0, 40) +
                                            '" follows h' + previous);
    previous = level;
  }
  for (const el of document.body.querySelectorAll('*')) {  // what scrolls is a named region (axe: and focusable)
    const style = getComputedStyle(el);
    const scrolls = (el.scrollWidth > el.clientWidth + 1 && /auto|scroll/.test(style.overflowX)) ||
                    (el.scrollHeight > el.clientHeight + 1 && /auto|scroll/.test(style.overflowY));
    if (scrolls && el !== document.body && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      problems.push(name(el) + ' scrolls but has no name');
  }
  for (const bar of document.querySelectorAll('.bar')) {
    const box = bar.getBoundingClientRect();
    if (box.width > 0 && box.width < 40) problems.push(name(bar) + ' collapsed to ' + Math.round(box.width) + ' px');
  }
  return problems;
}"""


def axe(page: Page, rules: list[str]) -> list[str]:
    """Run the given axe-core rules on the page; return readable violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (rules) => {
        const r = await axe.run(document, {runOnly: {type: 'rule', values: rules}});
        return r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ') + ' ' +
                                (n.any.concat(n.all)[0] || {message: ''}).message).join(' | '));
    }""", rules)


@dataclass
class Site:
    """The served app with two events (a regional day and a national day), staff and an attendee."""

    server: ServedApp
    staff: dict[str, str]
    question_id: int = 0
    attendee: dict[str, str] = field(default_factory=dict)
    visited: dict[str, list[str]] = field(default_factory=dict)

    def api(self, method: str, path: str, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        response = httpx.request(method, f"{self.server.base_url}/api/v1{path}", headers=headers or self.staff,
                                 json=body or None)
        assert response.status_code < 400, response.text
        return response

    def block(self, slug: str, key: str) -> int:
        event = httpx.get(f"{self.server.base_url}/api/v1/events/{slug}").json()
        return next(b["id"] for b in event["blocks"] if b["key"] == key)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    from ehalsodag.db.migrate import upgrade

    folder = tmp_path_factory.mktemp("every-page")
    settings = replace(make_settings(folder), attendance_seconds=1.0, vote_limit=1000)
    upgrade(settings)
    run_sync(load_fixture(settings, "ramprogram-2021.toml"))  # the framework the regional day extends
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    programme = folder / "national.toml"
    programme.write_text(national_day.programme(), encoding="utf-8")
    run_sync(load_programme(settings, programme))
    token = run_sync(make_staff(settings, "admin@example.se", "admin"))
    server = start_server(settings, folder / "server.log")
    try:
        site = Site(server, {"Authorization": f"Bearer {token}"})
        site.api("POST", f"/events/{SLUG}/live", block_id=site.block(SLUG, "block-1"))  # its poll opens
        for kind, extra in (("multiple", {"options": ["Kompetens", "Ekonomi", "Teknik"], "max_picks": 2}),
                            ("scale", {"scale_labels": ["Inte alls", "Mycket långt"]})):
            poll = site.api("POST", f"/events/{SLUG}/polls", kind=kind, question=f"En fråga ({kind})?",
                            **extra).json()["id"]
            site.api("POST", f"/polls/{poll}/open")
        attendee = {"Authorization": "Bearer " + site.api(
            "POST", f"/events/{SLUG}/join", headers={}, display_name="Lena", group_size=3).json()["attendee_token"]}
        site.attendee = attendee
        site.question_id = site.api("POST", f"/events/{SLUG}/questions", headers=attendee,
                                    text="Hur når vi dem som inte använder digitala tjänster?").json()["id"]
        site.api("POST", f"/events/{SLUG}/chat", headers=attendee, text="Hej från Motala!")
        for n in range(8):  # a chat log longer than its box: it scrolls
            someone = {"Authorization": "Bearer " + site.api(
                "POST", f"/events/{SLUG}/join", headers={}, group_size=1).json()["attendee_token"]}
            for m in range(4):
                site.api("POST", f"/events/{SLUG}/chat", headers=someone,
                         text=f"Meddelande {n}.{m} om digitala vårdtjänster, tillgänglighet och länets e-hälsoarbete")
        for kind, extra in (("open_text", {}), ("wordcloud", {}),
                            ("ranking", {"options": ["Journalen", "Egen provhantering", "Videobesök"]})):
            poll = site.api("POST", f"/events/{SLUG}/polls", kind=kind, question=f"En fråga ({kind})?",
                            **extra).json()["id"]
            site.api("POST", f"/polls/{poll}/open")
            answer = {"open_text": {"text": "Mer samarbete"}, "wordcloud": {"words": ["samverkan", "trygghet"]},
                      "ranking": {"ranking": [o["id"] for o in next(
                          p for p in site.api("GET", f"/events/{SLUG}/polls", headers=attendee).json()
                          if p["id"] == poll).get("options", [])]}}[kind]
            site.api("POST", f"/polls/{poll}/responses", headers=attendee, **answer)
        second = site.api("POST", f"/events/{SLUG}/questions", headers=attendee, text="Vem äger datat?").json()["id"]
        site.api("POST", f"/questions/{second}/moderate", action="highlight")
        site.api("POST", f"/events/{SLUG}/evaluation/open", minutes=30)
        yield site
    finally:
        stop_server(server)


def login(page: Page) -> None:
    page.goto("/login?next=/")
    page.locator("#email").fill("admin@example.se")
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))


def live(page: Page) -> None:
    """Wait until a live page's websocket is open and its snapshot applied."""
    expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=8000)


def pages_visited(site: Site, browser: Browser, language: str, width: int) -> dict[str, list[str]]:
    """Visit every page at ``width`` px (as an anonymous visitor, an attendee and staff); return each page's
    problems by its address."""
    found: dict[str, list[str]] = {}
    contexts: list[BrowserContext] = []

    roles: dict[int, str] = {}

    def context(who: str, javascript: bool = True) -> Page:
        made = browser.new_context(viewport={"width": width, "height": 800}, base_url=site.server.base_url,
                                   bypass_csp=True, java_script_enabled=javascript)
        contexts.append(made)
        page = made.new_page()
        page.goto(f"/lang/{language}?next=/")
        roles[id(page)] = who
        return page

    def check(page: Page, path: str | None, ready=None) -> None:
        if path is not None:
            page.goto(path)
        if ready:
            ready(page)
        page.wait_for_load_state("load")
        who = roles[id(page)]
        key = f"{who} {page.url.replace(site.server.base_url, '')}"
        found[key] = page.evaluate(PAGE_CHECKS)  # axe needs the page's scripts: not without JavaScript
        if "without JavaScript" not in who:
            found[key] += axe(page, ["scrollable-region-focusable"])
        shots = ARTIFACTS.parent / f"{width}px"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / (re.sub(r"[^a-z0-9]+", "-", f"{language} {key}".lower()).strip("-") + ".png")),
                        full_page=True)

    try:
        visitor = context("visitor")
        for path in ("/", "/?code=000000", "/kod", "/kod/000-000",
                     "/accessibility", "/tillganglighet", "/privacy", "/integritet", "/login",
                     f"/e/{SLUG}", f"/e/{NATIONAL}?stage={national_day.SKANE}", "/e/no-such-event",
                     f"/e/{SLUG}/chat", f"/e/{SLUG}/overlay", f"/e/{SLUG}/archive", "/invite/ehi_unknown"):
            check(visitor, path)

        attendee = context("attendee")
        attendee.goto(f"/e/{SLUG}")
        attendee.locator("#group_size").fill("4")
        attendee.locator("form[action$='/join'] button[type=submit]").click()
        check(attendee, None, live)
        # after live pushes: a poll opened (and answered here), an announcement, a chat message
        poll = site.api("POST", f"/events/{SLUG}/polls", kind="multiple", question=f"Pushad fråga ({language})?",
                        options=["Ja", "Nej", "Kanske"], max_picks=2).json()["id"]
        site.api("POST", f"/polls/{poll}/open")
        site.api("POST", f"/events/{SLUG}/announcement", text="Paus om fem minuter")
        site.api("POST", f"/events/{SLUG}/chat", headers=site.attendee, text=f"Pushat meddelande ({language})")
        attendee.locator(f"#poll-{poll} input[type=checkbox]").first.check()
        attendee.locator(f"#poll-{poll}-send").click()
        expect(attendee.locator(f"#poll-{poll}-mine")).not_to_be_empty(timeout=8000)
        expect(attendee.locator("#chat-log")).to_contain_text(f"Pushat meddelande ({language})", timeout=8000)
        roles[id(attendee)] = "attendee (after pushes)"
        check(attendee, None)
        roles[id(attendee)] = "attendee"
        check(attendee, f"/e/{SLUG}/me")
        # the pages as the server renders them, for a browser without JavaScript
        plain = context("attendee without JavaScript", javascript=False)
        plain.goto(f"/e/{SLUG}")
        plain.locator("form[action$='/join'] button[type=submit]").click()
        check(plain, None)
        plain.goto(f"/e/{SLUG}/chat")
        check(plain, None)
        national = context("national")
        national.goto(f"/e/{NATIONAL}?stage={national_day.OSTERGOTLAND}")
        national.locator("form[action$='/join'] button[type=submit]").click()
        check(national, None, live)

        staff = context("staff")
        login(staff)
        for path in (f"/e/{SLUG}/control", f"/e/{NATIONAL}/control?stage={national_day.SKANE}", f"/e/{SLUG}"):
            check(staff, path, live)
        # the control panel with pre-moderation on, a question waiting, and a question's edit box opened
        staff.goto(f"/e/{SLUG}/control")
        live(staff)
        if staff.locator("#mod-settings input[name=premoderation]").get_attribute("value") == "1":
            staff.locator("#tab-chat-tab").click()
            staff.locator("#mod-settings-premoderation").click()
            expect(staff.locator("#mod-settings input[name=premoderation]")).to_have_value("0")
        site.api("POST", f"/events/{SLUG}/questions", headers=site.attendee, text=f"Väntande fråga ({language})?")
        staff.locator("#tab-questions-tab").click()
        staff.locator("#mod-tab-pending").click()
        expect(staff.locator("#mod-list-pending li").first).to_be_visible(timeout=8000)
        staff.locator("#mod-tab-approved").click()
        staff.locator(f"#mq-{site.question_id}-summary").click()
        expect(staff.locator(f"#edit-{site.question_id}")).to_be_visible(timeout=8000)
        roles[id(staff)] = "staff (pre-moderation, edit box open)"
        check(staff, None)
        roles[id(staff)] = "staff"
        for path in (f"/e/{SLUG}/screen", f"/e/{NATIONAL}/screen", f"/e/{SLUG}/results", f"/e/{SLUG}/results/report",
                     f"/e/{SLUG}/results/compare?with={NATIONAL}", f"/e/{NATIONAL}/results", f"/e/{SLUG}/audit",
                     f"/e/{SLUG}/control/questions/{site.question_id}/edit", f"/e/{SLUG}/framework",
                     f"/e/{SLUG}/archive"):
            check(staff, path)
        # pollform: the New poll card as pages of their own (no JavaScript, a refusal, a draft edited, the bank)
        draft = site.api("POST", f"/events/{SLUG}/polls", kind="scale", question=f"Utkast ({language})?",
                         scale_labels=["Inte alls", "Helt"]).json()["id"]
        for path in (f"/e/{SLUG}/control/polls/new", f"/e/{SLUG}/control/polls/{draft}/edit",
                     f"/e/{SLUG}/control/polls/bank?q=fr%C3%A5ga"):
            check(staff, path)
        staff.goto(f"/e/{SLUG}/control")
        live(staff)
        staff.locator("#tab-polls-tab").click()
        staff.locator("#poll-bank summary").click()
        expect(staff.locator("#poll-bank-results li").first).to_be_visible(timeout=8000)
        roles[id(staff)] = "staff (question bank open)"
        check(staff, None)
        roles[id(staff)] = "staff"
        first_block = httpx.get(f"{site.server.base_url}/api/v1/events/{SLUG}").json()["blocks"][0]["key"]
        for path in ("/studio", "/studio/staff", "/studio/tokens", "/studio/password", "/studio/new",
                     f"/studio/e/{SLUG}", f"/studio/e/{SLUG}/evaluation", f"/studio/e/{SLUG}/blocks/{first_block}"):
            check(staff, path)
        if staff.locator("#publish-evaluation").count():
            staff.locator("#publish-evaluation").click()
        check(staff, f"/e/{SLUG}/archive/evaluation")
    finally:
        for made in contexts:
            made.close()
    return found


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_page_reflows_at_320_px_and_its_references_resolve(browser: Browser, site: Site, language: str):
    found = pages_visited(site, browser, language, 320)
    site.visited.update(found)
    failing = [f"{path}: {problem}" for path, problems in found.items() for problem in problems]
    assert not failing, "\n".join(failing)


def test_every_html_page_is_visited(site: Site):
    from litestar.routes import HTTPRoute

    from ehalsodag.app import create_app

    assert site.visited, "run with the reflow test first (same module)"
    app = create_app(site.server.settings)
    pages = {route.path for route in app.routes if isinstance(route, HTTPRoute)
             for handler in route.route_handlers if "GET" in handler.http_methods
             and not route.path.startswith(("/api/", "/schema")) and route.path not in NOT_PAGES}
    paths = [key.split(" ", 1)[1].split("?")[0] for key in site.visited]

    def pattern(route: str) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route) + "$")

    missing = sorted(route for route in pages if not any(pattern(route).match(path) for path in paths))
    assert missing == [], "HTML pages the accessibility checks never visit: add them to pages_visited()"


#: An answer of each poll kind, from the poll as the JSON API shows it.
ANSWERS = {
    "single": lambda poll: {"option_ids": [poll["options"][0]["id"]]},
    "multiple": lambda poll: {"option_ids": [o["id"] for o in poll["options"][:2]]},
    "scale": lambda poll: {"value": 4},
    "wordcloud": lambda poll: {"words": ["samverkan", "trygghet", "journalen"]},
    "open_text": lambda poll: {"text": "Fler gemensamma utbildningar för vårdens personal"},
    "ranking": lambda poll: {"ranking": [o["id"] for o in poll["options"]]},
}
OPTIONS = ["Kompetens", "Ekonomi", "Teknik och infrastruktur"]


def test_the_presenter_screen_has_enough_contrast_and_room_sized_text_in_every_poll_kind_and_state(
        browser: Browser, site: Site):
    """axe color-contrast on the presenter screen for every poll kind: open with no answers, with answers (an
    open-text answer approved onto the wall), and with its results hidden until revealed; word-cloud counts
    readable across a room; and at a phone's width, bars that keep a visible length and no sideways scroll."""
    voters = [{"Authorization": "Bearer " + site.api("POST", f"/events/{SLUG}/join", headers={}, group_size=1)
               .json()["attendee_token"]} for _ in range(3)]
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=site.server.base_url,
                                  bypass_csp=True)
    screen = context.new_page()
    screen.goto(f"/e/{SLUG}/screen")
    staff = context.new_page()
    login(staff)
    found: dict[str, list[str]] = {}
    try:
        for kind, answer in ANSWERS.items():
            for results in ("live", "on_reveal"):
                question = f"Skärmfråga {kind} ({results})?"
                extra = {"options": OPTIONS} if kind in ("single", "multiple", "ranking") else {}
                poll_id = site.api("POST", f"/events/{SLUG}/polls", kind=kind, question=question,
                                   results=results, scale_labels=["Inte alls", "Mycket långt"], **extra).json()["id"]
                site.api("POST", f"/polls/{poll_id}/open")
                expect(screen.locator("#screen-main h1")).to_have_text(question, timeout=8000)
                found[f"{kind}, {results}, no answers"] = axe(screen, ["color-contrast"])
                poll = next(p for p in site.api("GET", f"/events/{SLUG}/polls").json() if p["id"] == poll_id)
                for voter in voters:
                    site.api("POST", f"/polls/{poll_id}/responses", headers=voter, **answer(poll))
                if results == "live":
                    expect(screen.locator("#screen-main .poll-count")).to_contain_text("3", timeout=8000)
                if kind == "open_text" and results == "live":
                    staff.goto(f"/e/{SLUG}/control")
                    live(staff)
                    staff.locator("#tab-polls-tab").click()
                    staff.locator(f"#mp-{poll_id}-wall button[id$='-show']").first.click()
                    expect(screen.locator("#screen-main .wall li:not(.empty)")).to_have_count(1, timeout=8000)
                found[f"{kind}, {results}, answered"] = axe(screen, ["color-contrast"])
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                screen.screenshot(path=str(ARTIFACTS / f"{kind}-{results}-1920.png"))
                if kind == "wordcloud" and results == "live":
                    sizes = screen.evaluate("""() => [...document.querySelectorAll(
                        '#screen-main .wordcloud li, #screen-main .word-count')]
                        .map(e => parseFloat(getComputedStyle(e).fontSize))""")
                    if not sizes or min(sizes) < 24:
                        found[f"{kind}, {results}, answered"].append(f"word-cloud text of {sizes} px: too small")
                for width in (390, 320):
                    screen.set_viewport_size({"width": width, "height": 844})
                    screen.screenshot(path=str(ARTIFACTS / f"{kind}-{results}-{width}.png"), full_page=True)
                    found[f"{kind}, {results}, answered, {width} px"] = [
                        p for p in screen.evaluate(PAGE_CHECKS) if "horizontal" in p or "collapsed" in p]
                screen.set_viewport_size({"width": 1920, "height": 1080})
                site.api("POST", f"/polls/{poll_id}/close")
        assert len(found) == 6 * 2 * 4
        failing = [f"{state}: {problem}" for state, problems in found.items() for problem in problems]
        assert not failing, "\n".join(failing)
    finally:
        context.close()


def accessible(page: Page, selector: str) -> list[dict[str, str]]:
    """The accessible name, description and role that Chromium gives assistive technology, for every element
    matching ``selector``."""
    client = page.context.new_cdp_session(page)
    try:
        client.send("Accessibility.enable")
        root = client.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        found = []
        for node in client.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]:
            backend = client.send("DOM.describeNode", {"nodeId": node})["node"]["backendNodeId"]
            ax = next(n for n in client.send("Accessibility.getPartialAXTree", {
                "nodeId": node, "fetchRelatives": False})["nodes"] if n.get("backendDOMNodeId") == backend)
            found.append({key: (ax.get(key) or {}).get("value", "") for key in ("name", "description", "role")})
        return found
    finally:
        client.detach()


def test_instructions_labels_and_the_chat_log_reach_assistive_technology(browser: Browser, site: Site):
    """A poll's instructions ("Välj högst 2", "1 = Inte alls, 5 = Mycket långt") are part of what every one of its
    controls announces; the name field of a question has a visible label; the chat log is a log."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.server.base_url)
    page = context.new_page()
    try:
        page.goto(f"/e/{SLUG}")
        page.locator("form[action$='/join'] button[type=submit]").click()
        live(page)
        polls = {p["kind"]: p for p in site.api("GET", f"/events/{SLUG}/polls").json()
                 if p["question"] in ("En fråga (multiple)?", "En fråga (scale)?")}
        for kind, instruction in (("multiple", "Välj högst 2."), ("scale", "1 = Inte alls, 5 = Mycket långt")):
            controls = accessible(page, f"#poll-{polls[kind]['id']} input:not([type=hidden])")
            assert len(controls) >= 3, controls
            for control in controls:
                assert instruction in control["description"] or instruction in control["name"], (kind, control)

        label = page.locator("label[for=question-name]")
        box = label.bounding_box()
        assert box and box["width"] > 20 and box["height"] > 8, "the name field's label is not visible"
        name = accessible(page, "#question-name")[0]["name"]
        assert name == label.inner_text().strip() and page.locator("#question-name").get_attribute("placeholder") \
            in (None, ""), "the name field must be named by its visible label, not a placeholder"

        assert page.locator("#chat-log").evaluate("e => e.closest('[role=log]') !== null")
        assert accessible(page, "[role=log]")[0]["name"] == page.locator("#chat-heading").inner_text()
    finally:
        context.close()


def test_the_presenter_screen_without_a_poll_has_enough_contrast(browser: Browser, site: Site):
    """The presenter screen's other states: the question on stage, then the block on air (run last: it closes every
    poll of the day)."""
    for poll in site.api("GET", f"/events/{SLUG}/polls").json():
        if poll["state"] == "open":
            site.api("POST", f"/polls/{poll['id']}/close")
    site.api("POST", f"/questions/{site.question_id}/moderate", action="highlight")
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=site.server.base_url,
                                  bypass_csp=True)
    screen = context.new_page()
    try:
        screen.goto(f"/e/{SLUG}/screen")
        expect(screen.locator("#screen-main .screen-author")).to_be_visible(timeout=8000)
        found = {"question on stage": axe(screen, ["color-contrast"])}
        site.api("POST", f"/questions/{site.question_id}/moderate", action="unhighlight")
        expect(screen.locator("#screen-main .screen-author")).to_have_count(0, timeout=8000)
        found["block on air"] = axe(screen, ["color-contrast"])
        assert found == {"question on stage": [], "block on air": []}
    finally:
        context.close()
