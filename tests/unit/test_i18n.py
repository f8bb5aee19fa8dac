"""Every user-visible string has a Swedish translation, and Swedish is the default."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ehalsodag import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "lazy": None}


def extracted_ids() -> set[str]:
    ids: set[str] = set()
    method_map = [("platform/**.py", "python"), ("platform/ehalsodag/templates/**.html", "jinja2")]
    options = {"platform/ehalsodag/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map=options, keywords=KEYWORDS
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in ids if m}


def test_every_string_has_a_swedish_translation():
    with (i18n.TRANSLATIONS_DIR / "sv" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="sv")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(extracted_ids() - translated)
    assert not missing, f"run `make messages` and translate: {missing}"


def test_swedish_is_the_default_and_english_selectable():
    assert i18n.current_language() == "sv"
    assert i18n.gettext("Programme") == "Program"
    with i18n.use_language("en"):
        assert i18n.gettext("Programme") == "Programme"
    with i18n.use_language("fr"):
        assert i18n.current_language() == "sv"
    assert i18n.ngettext("Running %(num)d min late", "Running %(num)d min late", 3) == "3 min försenat"


def test_numbers_are_written_the_swedish_way_in_swedish():
    from ehalsodag.web.templating import decimal1, decimal2

    assert decimal1(90.0) == "90,0" and decimal2(4.36) == "4,36"
    with i18n.use_language("en"):
        assert decimal1(90.0) == "90.0" and decimal2(4.36) == "4.36"


def test_the_catalog_defines_each_message_once():
    # parallel branches append to the catalog (merged as a union): a message added twice must not slip in
    po = (i18n.TRANSLATIONS_DIR / "sv" / "LC_MESSAGES" / "messages.po").read_text("utf-8")
    ids = [line for line in po.splitlines() if line.startswith("msgid ") and line != 'msgid ""']
    assert sorted({m for m in ids if ids.count(m) > 1}) == []
    # ... nor a message given two translations (the union keeps both sides' msgstr lines)
    lines = po.splitlines()
    doubled = [lines[n - 1] for n in range(1, len(lines))
               if lines[n].startswith("msgstr ") and lines[n - 1].startswith("msgstr ")]
    assert doubled == []
