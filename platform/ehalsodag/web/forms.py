"""HTML forms decoded into the same msgspec Struct as the JSON body of the same action.

A form is a flat list of ``name=value`` pairs: a list field takes every value given for its name, any
other field the first; an empty field counts as not given (its default applies); fields the Struct
does not know (the CSRF token, the submit button's name) are ignored. The rest is msgspec's own
conversion, so the form and the API refuse the same things.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.di import Provide
from litestar.exceptions import ClientException

from ehalsodag.i18n import _

S = TypeVar("S", bound=msgspec.Struct)
#: A form may repeat a field, but not without end.
MAX_VALUES = 100


def _is_list(info: msgspec.inspect.Type) -> bool:
    if isinstance(info, msgspec.inspect.UnionType):
        return any(_is_list(t) for t in info.types)
    return isinstance(info, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.FrozenSetType)


@functools.cache
def _list_fields(struct: type[msgspec.Struct]) -> dict[str, bool]:
    """Each field of ``struct`` by its name in a form, and whether it takes a list (a Struct never changes: worked
    out once per Struct, not per request)."""
    return {f.encode_name: _is_list(f.type) for f in msgspec.inspect.type_info(struct).fields}  # type: ignore[union-attr]


def decode_form(struct: type[S], pairs: Iterable[tuple[str, Any]]) -> S:
    """``pairs`` (a form's fields in order) as an instance of ``struct``; 422 if they do not fit."""
    fields = _list_fields(struct)
    values: dict[str, Any] = {}
    for name, value in pairs:
        is_list = fields.get(name)
        if is_list is None or not isinstance(value, str):
            continue
        if is_list:
            items = values.setdefault(name, [])
            if value.strip() and len(items) < MAX_VALUES:
                items.append(value.strip())
        elif name not in values and value.strip() != "":
            values[name] = value
    try:
        return msgspec.convert(values, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise ClientException(detail=_("The form could not be read: %(error)s", error=str(exc)),
                              status_code=422) from exc


def form_of(struct: type[S]) -> Provide:
    """A dependency that decodes the request's form into ``struct`` (use it as ``form: Struct``)."""

    async def provide(request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        return decode_form(struct, form.multi_items())

    provide.__annotations__["return"] = struct
    return Provide(provide)
