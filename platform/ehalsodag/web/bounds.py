"""Bounds on every field of every input, checked by msgspec while it decodes the body (or the form), before any
handler, service or query runs.

Each input Struct (one per action, shared by the JSON route and the form) types its fields with these aliases, so a
list can never be longer, a text never longer and a number never larger than the bound, and no text carries a NUL
byte (PostgreSQL refuses it, and nothing a person types contains one). The bounds are generous multiples of the
services' own limits: a person who types a little too much still gets the service's translated message
("at most 500 characters"); a script that sends 11 000 words or 60 KB in a name is refused at decoding with a 400,
at a cost linear in what it sent. ``tests/integration/test_input_bounds.py`` checks that every input of every route
is bounded.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

#: No NUL byte anywhere in a text (searched once, linear).
NO_NUL = r"^[^\x00]*$"
#: The largest list any input may carry (options of a poll, a ranking, the words of a word cloud...).
MAX_ITEMS = 40
#: The largest list of words a word-cloud answer may carry (the service then allows three distinct ones).
MAX_WORD_ITEMS = 10
#: The most answers an evaluation may carry (its questions are far fewer).
MAX_ANSWERS = 100

#: A key, a kind, an action, a stage's id (short machine words).
Key = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
#: A name, an organisation, a word, a label (the services allow 40 to 120 characters).
ShortText = Annotated[str, msgspec.Meta(max_length=400, pattern=NO_NUL)]
#: A question, a chat message, an announcement, an answer, a comment (the services allow 500 to 2000 characters).
Text = Annotated[str, msgspec.Meta(max_length=4500, pattern=NO_NUL)]
#: An e-mail address as typed into the login form.
Email = Annotated[str, msgspec.Meta(max_length=320, pattern=NO_NUL)]
#: A password as typed into the login form (argon2 reads all of it: bounded too).
Password = Annotated[str, msgspec.Meta(max_length=1024, pattern=NO_NUL)]
#: Minutes, scale ends, group sizes, picks: small numbers (the services check their own ranges).
SmallInt = Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]
#: A database id inside a body: anything outside 1 … 2**63 − 1 cannot exist.
BodyId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
#: Lists of ids (options picked, a ranking).
IdList = Annotated[list[BodyId], msgspec.Meta(max_length=MAX_ITEMS)]
#: The words of a word-cloud answer.
WordList = Annotated[list[ShortText], msgspec.Meta(max_length=MAX_WORD_ITEMS)]
#: Lists of options or labels typed by a moderator.
TextList = Annotated[list[Text], msgspec.Meta(max_length=MAX_ITEMS)]
#: Scale labels (two are used).
LabelList = Annotated[list[ShortText], msgspec.Meta(max_length=MAX_WORD_ITEMS)]
#: The evaluation's answers: question key → a step, a number or a text.
Answers = Annotated[dict[Key, SmallInt | Text | None], msgspec.Meta(max_length=MAX_ANSWERS)]
