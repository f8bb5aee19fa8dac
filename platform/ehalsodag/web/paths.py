"""Path parameters checked before any guard looks anything up with them."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException
from litestar.handlers.base import BaseRouteHandler

from ehalsodag.i18n import _

#: The largest database id (64-bit): no row has a larger one, and SQLite cannot even be asked for one.
MAX_ID = 2**63 - 1


async def ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """An app-wide guard, first of all: an integer path parameter outside 1 … 2**63 − 1 names nothing and is
    refused with a 400 before a route's guard looks its object up (a staff guard finds the event of a question,
    a poll or a message by its id)."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= MAX_ID:
            raise ClientException(detail=_("No such id."), status_code=400)
