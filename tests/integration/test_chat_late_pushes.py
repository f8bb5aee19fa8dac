"""Chat pushes rendered late still agree with a fresh snapshot.

A push reads the committed state when it renders, not when its change was recorded: messages posted, deleted
or put back meanwhile are already there, while their own changes wait in the queue behind it. This happens
whenever the chat is busy (a push takes some milliseconds, and a burst commits several messages in them), and
it once left a message in the moderators' list that had fallen out of the newest 50.

Here the change feed is held back: random posts, deletions and undos commit, and the queued changes are
rendered at random moments, in order and merged as the pusher merges them. After every push each audience's
page, kept current by the pushes alone, must equal a fresh snapshot once every change is pushed.
"""

from __future__ import annotations

import random

import pytest
from litestar.testing import AsyncTestClient

from ehalsodag.app import create_app
from ehalsodag.changes import Change, merge
from ehalsodag.fragments import Audience, Viewer
from tests.conftest import load_fixture, make_staff
from tests.support.liveclient import part
from tests.support.livedom import LiveDocument, assert_same_dom

SLUG = "regional"
#: Enough writers that nobody reaches the chat's rate limit.
WRITERS = 55


@pytest.mark.parametrize("seed", range(6))
async def test_chat_pushes_rendered_after_later_commits_agree_with_a_fresh_snapshot(settings, seed):
    rng = random.Random(seed)
    await load_fixture(settings)
    staff = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', SLUG)}"}
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        queued: list[Change] = []

        async def hold(changes: list[Change]) -> None:
            queued.extend(changes)

        app.state.db.feed.subscribers[:] = [hold]  # the pusher sees nothing: this test pushes by hand
        writers = []
        for _ in range(WRITERS):
            joined = (await client.post(f"/api/v1/events/{SLUG}/join", json={})).json()
            writers.append({"Authorization": f"Bearer {joined['attendee_token']}"})

        async def ok(method: str, path: str, headers: dict[str, str], json: object = None) -> dict:
            response = await client.request(method, f"/api/v1{path}", headers=headers, json=json)
            assert response.status_code in (200, 201), (method, path, response.text)
            return response.json()

        visible: list[int] = []
        for n in range(45):  # nearly the moderators' 50: the list soon starts to drop its oldest
            visible.append((await ok("POST", f"/events/{SLUG}/chat", writers[n % WRITERS], {"text": f"m{n}"}))["id"])
        queued.clear()

        event_id = await app.state.event_ids.id_of(SLUG)
        snapshots, broadcaster = app.state.snapshots, app.state.broadcaster
        renderer = broadcaster.renderer
        viewers = {"control panel": (Viewer(Audience.STAFF), ("mod-chat",)),
                   "attendee page": (Viewer(Audience.ATTENDEE), ("chat-log",))}

        async def fresh(viewer: Viewer) -> LiveDocument:
            async with app.state.db.reader() as session:
                event = await snapshots.load_event(session, event_id)
                return LiveDocument(renderer.joined(await snapshots.fragments(session, event, viewer), "sv"))

        pages = {name: await fresh(viewer) for name, (viewer, _parts) in viewers.items()}

        async def push(count: int) -> None:
            """The first ``count`` queued changes, merged, rendered now (as the pusher does after its pause)."""
            taken, queued[:] = queued[:count], queued[count:]
            for routed in await broadcaster.fragments_for(event_id, merge(taken)):
                for name, (viewer, _parts) in viewers.items():
                    if routed.fragment.audience is viewer.audience:
                        pages[name].apply(renderer.one(routed.fragment, "sv"))

        undoable: list[int] = []
        posted = 45
        for _step in range(70):
            roll = rng.random()
            if roll < 0.6 or not visible:
                visible.append((await ok("POST", f"/events/{SLUG}/chat", writers[posted % WRITERS],
                                         {"text": f"m{posted}"}))["id"])
                posted += 1
            elif roll < 0.85:
                victim = rng.choice(visible[-55:])  # in the list, or just beyond it
                visible.remove(victim)
                deleted = await ok("DELETE", f"/chat/{victim}", staff)
                undoable.append(deleted["undo"]["id"])
            elif undoable:
                await ok("POST", f"/undo/{undoable.pop(rng.randrange(len(undoable)))}", staff)
            if queued and rng.random() < 0.4:
                await push(rng.randint(1, len(queued)))
        # A busy minute in one push (a retried push gathers everything committed meanwhile): more posts than the
        # moderators' list holds, the first of them rendered alone after all the others were committed.
        await push(len(queued))
        for _ in range(80):
            visible.append((await ok("POST", f"/events/{SLUG}/chat", writers[posted % WRITERS],
                                     {"text": f"m{posted}"}))["id"])
            posted += 1
        await push(1)
        await push(len(queued))
        for name, (viewer, parts) in viewers.items():
            pushed, snapshot = part(pages[name], parts), part(await fresh(viewer), parts)
            if viewer.audience is Audience.ATTENDEE:
                _beyond_the_window(pushed, snapshot)
            assert_same_dom(pushed, snapshot, f"{name} (seed {seed}, {posted} messages)")


def _beyond_the_window(pushed: LiveDocument, snapshot: LiveDocument) -> None:
    """Past 100 messages the attendee log kept by pushes holds the newest 100 it was sent (chat/fragments.py): it
    drops its "show older" link and a deleted message leaves a gap rather than letting an older one in. Compare
    what both show from the pushed log's oldest message on, and that nothing newer is missing."""
    if snapshot.element("chat-older") is None:  # 100 messages or fewer: the two must agree exactly
        return
    for document in (pushed, snapshot):
        older = document.element("chat-older")
        if older is not None:
            older.getparent().remove(older)
    kept = [li.get("id") for li in pushed.element("chat-log")]
    oldest = min(int(ident.removeprefix("chat-")) for ident in kept)
    for li in list(snapshot.element("chat-log")):
        if int(li.get("id").removeprefix("chat-")) < oldest:
            li.getparent().remove(li)
