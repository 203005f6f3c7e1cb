"""The ``campaign_plugin`` extraction method (``core.plugin_texts``): the stored texts it
finds in a module's source, each id as the catalog needs it."""

from core.plugin_texts import stored_texts

SOURCE = """
stored = stored_for(__name__)
stored("{name} saved", name=name)
stored.plural("{count} row left out", "{count} rows left out", count=len(rows))
context.log("pass done")
stored.plural(singular, plural, count=n)
table.plural("not a stored text", "not ones")
"""


def test_a_text_with_a_plural_is_extracted_with_its_singular_and_plural():
    assert list(stored_texts(SOURCE)) == [
        (3, "{name} saved"),
        (4, ("{count} row left out", "{count} rows left out")),
        (5, "pass done"),
    ]
