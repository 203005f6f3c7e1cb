"""One-off conversion (kept in history, deleted after use): the panel's MESSAGES dictionaries
and the German plugin title table → gettext catalogs. Run from the tree before the change:
``PYTHONPATH=<old tree> python tools/convert_messages_to_po.py <new tree>``."""
# ruff: noqa: E402

import importlib
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

OUT = Path(sys.argv[1])

import webapp.i18n as i18n
from webapp import PANEL_AREAS
from webapp.imports import MESSAGES as IMPORT_MESSAGES

i18n.add_messages(IMPORT_MESSAGES, "webapp.imports")
for name in PANEL_AREAS:
    area = importlib.import_module(name)
    i18n.add_messages(getattr(area, "MESSAGES", {}), name)
messages = dict(i18n.MESSAGES)

from core.reach import REASON_TEXTS

for reason, texts in REASON_TEXTS.items():
    messages[str(reason.value)] = dict(texts)

panel = {k: v for k, v in messages.items() if not k.startswith("plugin.")}
plugin_keys = {k: v for k, v in messages.items() if k.startswith("plugin.")}


def new_catalog(locale, project):
    return Catalog(
        locale=locale,
        project=project,
        version="0.1.0",
        copyright_holder=None,
        msgid_bugs_address="",
        charset="utf-8",
        fuzzy=False,
    )


def save(catalog, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=True)


de = new_catalog("de", "Campaign panel")
en = new_catalog("en", "Campaign panel")
for key, texts in panel.items():
    de.add(key, texts["de"])
    en.add(key, texts["en"])

# query entity/relation/field titles: English whitelist titles as ids, German translation
from core.query import ENTITIES
from webapp.queries.messages import GERMAN_TITLES

seen = {}
for name, entity in ENTITIES.items():
    pairs = [(f"entity.{name}", entity.title)]
    fields = entity.fields.values() if isinstance(entity.fields, dict) else entity.fields
    rels = entity.relations.values() if isinstance(entity.relations, dict) else entity.relations
    pairs += [(f"f.{f.name}", f.title) for f in fields]
    pairs += [(f"rel.{r.name}", r.title) for r in rels]
    for key, english in pairs:
        german = GERMAN_TITLES.get(key)
        if german is None:
            continue
        if english in seen and seen[english] != german:
            raise SystemExit(f"conflict {english}: {seen[english]} / {german}")
        seen[english] = german
for english, german in seen.items():
    if english in panel:
        raise SystemExit(english)
    de.add(english, german, auto_comments=["query editor title"])
save(de, OUT / "webapp/translations/de/LC_MESSAGES/messages.po")
save(en, OUT / "webapp/translations/en/LC_MESSAGES/messages.po")
print("panel", len(panel), "query titles", len(seen))

# plugins: English ids (the plugin's own words), German translation, per package
from core.plugins import load_plugins
from webapp.schema_forms import root_spec

host = load_plugins(entry_points=False)
kinds = {
    "datasource": host.datasources,
    "recipient_filter": host.recipient_filters,
    "action": host.actions,
    "workflow": host.workflows,
}
catalogs = {}
english_choices = {}


def package_catalog(cls, lang):
    module = sys.modules[cls.__module__]
    package = module.__name__.rsplit(".", 1)[0]
    return catalogs.setdefault((package, lang), new_catalog(lang, package))


def spec_at(cls, path):
    spec = root_spec(cls.params_schema())
    for part in path.split("."):
        spec = spec.properties[part]
    return spec


done = set()
for key, texts in sorted(plugin_keys.items()):
    _, kind, rest = key.split(".", 2)
    name, what = rest.split(".", 1)
    cls = kinds[kind].get(name)
    cat = package_catalog(cls, "de")
    if what in ("title", "description"):
        english = getattr(cls, what) or ""
        if not english:
            print("no english for", key)
            continue
        msgid, ctx = english, None
    else:
        path, kind_of = (
            what.rsplit(".", 1) if ".choice." not in what else what.split(".choice.")[0],
            None,
        )
        if ".choice." in what:
            path, value = what.split(".choice.")
            msgid, ctx = value, "choice"
            en_cat = package_catalog(cls, "en")
            if en_cat.get(value, context="choice") is None:
                en_cat.add(value, texts["en"], context="choice")
        else:
            path, part = what.rsplit(".", 1)
            spec = spec_at(cls, path)
            if part == "label":
                msgid = spec.schema.get("title") or path.rsplit(".", 1)[-1].replace("_", " ")
            else:
                msgid = spec.schema.get("description") or ""
                if not msgid:
                    print("no english help for", key, texts)
                    continue
            ctx = None
    existing = cat.get(msgid, context=ctx)
    if existing is not None and existing.string != texts["de"]:
        # same English words, other German: keep them apart by the plugin's name
        ctx = name if ctx is None else f"{name}|{ctx}"
        print("context for", key, repr(msgid), repr(existing.string), repr(texts["de"]))
    if cat.get(msgid, context=ctx) is None:
        cat.add(msgid, texts["de"], context=ctx)
for (package, lang), cat in catalogs.items():
    directory = (
        OUT / package.replace(".", "/") / "translations" / lang / "LC_MESSAGES" / "messages.po"
    )
    save(cat, directory)
    print(directory, len(cat))
