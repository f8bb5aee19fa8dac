"""A socket vote's acknowledgement is rendered once per poll, kind of answer and language and then given each
vote's key: it must be exactly the frame the templates make for that vote."""

from __future__ import annotations

import pytest

from ehalsodag.fragments import Audience, Fragment
from ehalsodag.i18n import _, use_language
from ehalsodag.live.broadcast import Renderer
from ehalsodag.polls import routes
from ehalsodag.settings import load_settings


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("created", [True, False])
def test_the_remembered_acknowledgement_is_the_rendered_one(language, created):
    renderer = Renderer(load_settings().templates_dir)
    with use_language(language):
        text = _("Thank you, your answer is counted.") if created else _("Your answer is changed.")
    for key in ("AbC-12_xyz", "k" * 64, "vote-key-mark"):
        expected = renderer.joined([routes._ack(41, key, text, error=False),
                                    Fragment(Audience.ATTENDEE, "polls/mine.html",
                                             {"poll": {"id": 41}, "answered": True})], language)
        assert routes._accepted(renderer, 41, key, created, language) == expected
        assert f'data-ack="{key}"' in expected and text in expected
