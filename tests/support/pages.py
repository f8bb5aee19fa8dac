"""Reading what a page shows, for tests that look at served HTML."""

from __future__ import annotations

import re


def upvote_count(page: str, question_id: int) -> int:
    """The upvote count a page shows for a question."""
    return int(re.search(rf'id="q-{question_id}-count"[^>]*>(\d+)', page).group(1))
