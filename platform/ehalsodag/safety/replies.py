"""The answer of an undoable action: it offers the undo (API, htmx and plain forms alike)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.response import Redirect, Response, Template

from ehalsodag.safety.models import UndoAction
from ehalsodag.web.actions import is_api
from ehalsodag.web.responses import is_htmx
from ehalsodag.web.templating import iso


def undo_data(action: UndoAction | None) -> dict[str, Any] | None:
    """An undo as the API gives it."""
    return None if action is None else {"id": action.id, "until": iso(action.expires_at)}


def undo_reply(request: Request[Any, Any, Any], *, slug: str, action: UndoAction | None, data: dict[str, Any],
               message: str, back: str, status_code: int = 200) -> Response[Any]:
    """:func:`ehalsodag.web.actions.reply` for an undoable action: its answer offers the undo."""
    if is_api(request):
        return Response({**data, "undo": undo_data(action)}, status_code=status_code)
    if is_htmx(request):
        return Template("safety/undo_message.html", context={"message": message, "undo": action, "slug": slug})
    if action is None:
        return Redirect(back, status_code=303)
    path, _sep, anchor = back.partition("#")
    joiner = "&" if "?" in path else "?"
    return Redirect(f"{path}{joiner}{urlencode({'undo': action.id, 'done': action.kind})}#undo-banner",
                    status_code=303)
