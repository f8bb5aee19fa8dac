"""The app's request class: htmx-aware, and a JSON body nested too deeply for the decoder is the client's
mistake (400), not a server error."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import ClientException
from litestar.plugins.htmx import HTMXRequest

from ehalsodag.i18n import _


class Request(HTMXRequest):
    """:class:`HTMXRequest` whose :meth:`json` refuses bodies nested beyond the decoder's depth with a 400."""

    async def json(self) -> Any:
        """The decoded JSON body (400 when it is nested too deeply to decode)."""
        try:
            return await super().json()
        except RecursionError as exc:  # msgspec's depth limit: 30 000 "[" in 60 KB
            raise ClientException(detail=_("The JSON body is nested too deeply."), status_code=400) from exc
