"""The user-visible texts of plugin classes, for ``pybabel extract`` (method ``campaign_plugin``).

A plugin's texts are class attributes and its settings schema, which no source scanner
finds: this extractor imports the module, asks its ``register_*`` hooks for its classes and
yields their texts (a choice value with the context ``choice``). From the source it adds
the texts stored for later (``stored("...")``, ``context.log("...")``, and a singular with
its plural, ``stored.plural("...", "...")``) and the messages its settings validators raise
(``raise ValueError("...")``). A plugin's ``babel.cfg``::

    [campaign_plugin: **.py]
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from core.plugin_base import Plugin
from core.plugins import PluginHost

Extracted = tuple[int, str, str | tuple[str, str], list[str]]
StoredId = str | tuple[str, str]
"""A stored text's id, or its singular and plural (``msgid``, ``msgid_plural``)."""
STORED_TEXT_MARKERS = frozenset({"stored", "log"})
"""The calls whose first argument is a stored text's id (``stored``, ``WorkflowContext.log``)."""
VALIDATOR_DECORATORS = frozenset({"field_validator", "model_validator"})


def registered_classes(module: object) -> list[type[Plugin]]:
    """The plugin classes the ``register_*`` hooks of ``module`` register."""
    host = PluginHost()
    host.manager.register(module)
    return [cls for _, cls in host.collect_classes(module)]


def schema_texts(schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(context, text) of every title, description and choice value in a JSON schema."""
    definitions = schema.get("$defs", {})

    def walk(node: Any, seen: frozenset[str], keys: tuple[str, ...]) -> Iterator[tuple[str, str]]:
        if not isinstance(node, Mapping):
            return
        reference = node.get("$ref")
        if isinstance(reference, str) and reference not in seen:
            # a model's own title is its class name: the panel names the field by its key
            target = definitions.get(reference.rsplit("/", 1)[-1])
            yield from walk(target, seen | {reference}, ("description",))
        for key in keys:
            if isinstance(node.get(key), str):
                yield "", node[key]
        for value in node.get("enum", []):
            if isinstance(value, str):
                yield "choice", value
        for name, child in (node.get("properties") or {}).items():
            if isinstance(child, Mapping) and "title" not in child:
                yield "", name.replace("_", " ").capitalize()
            yield from walk(child, seen, ("title", "description"))
        for key in ("items", "anyOf", "oneOf", "allOf"):
            children = node.get(key)
            for child in [children] if isinstance(children, Mapping) else children or []:
                yield from walk(child, seen, ("title", "description"))

    yield from walk(schema, frozenset(), ())  # not the model's own title: its class name


def plugin_texts(cls: type[Plugin]) -> Iterator[tuple[str, str]]:
    """(context, English text) of everything the panel shows of ``cls``."""
    for attribute in ("title", "description"):
        if getattr(cls, attribute, None):
            yield "", getattr(cls, attribute)
    yield from schema_texts(cls.params_schema())


def _module_name(path: Path) -> str:
    """The dotted name of the module at ``path``, whose top package's folder goes on sys.path."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return ".".join(parts)


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[Extracted]:
    """Babel extraction method: the texts of the plugin classes the scanned module registers."""
    module = importlib.import_module(_module_name(Path(fileobj.name).resolve()))
    seen: set[tuple[str, str]] = set()
    for cls in registered_classes(module):
        line = inspect.getsourcelines(cls)[1] if inspect.getmodule(cls) is module else 1
        comments = [f"{cls.kind} {cls.name}"]
        for context, text in plugin_texts(cls):
            if (context, text) not in seen:
                seen.add((context, text))
                if context:
                    yield line, "pgettext", (context, text), comments
                else:
                    yield line, "gettext", text, comments
    fileobj.seek(0)
    source = fileobj.read()
    for line, text in [*stored_texts(source), *validator_texts(source)]:
        yield line, "gettext" if isinstance(text, str) else "ngettext", text, []


def stored_texts(source: str | bytes) -> Iterator[tuple[int, StoredId]]:
    """(line, id) of every stored text a module's source writes with a literal id; (line,
    (singular, plural)) of one written with ``stored.plural``."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        if _called_name(node) in STORED_TEXT_MARKERS:
            yield from _literal(node.args[0])
        elif _plural_marker(node) and len(node.args) == 2:
            forms = [text for _, text in (*_literal(node.args[0]), *_literal(node.args[1]))]
            if len(forms) == 2:
                yield node.lineno, (forms[0], forms[1])


def _plural_marker(node: ast.Call) -> bool:
    """``stored.plural(...)``."""
    return isinstance(node.func, ast.Attribute) and (
        node.func.attr == "plural" and _called_name(node.func.value) == "stored"
    )


def _literal(node: ast.expr) -> Iterator[tuple[int, str]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.lineno, node.value


def _called_name(node: ast.expr) -> str:
    """``name`` of ``name(...)``, ``module.name(...)``, ``name`` or ``module.name``."""
    if isinstance(node, ast.Call):
        node = node.func
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def validator_texts(source: str | bytes) -> Iterator[tuple[int, str]]:
    """(line, message) of every ValueError with a literal message a pydantic validator raises,
    which the panel looks up in the plugin's catalog (``core.validation.problem_text``)."""
    for node in ast.walk(ast.parse(source)):
        decorators = node.decorator_list if isinstance(node, ast.FunctionDef) else []
        if any(_called_name(decorator) in VALIDATOR_DECORATORS for decorator in decorators):
            for inner in ast.walk(node):
                raised = inner.exc if isinstance(inner, ast.Raise) else None
                if isinstance(raised, ast.Call) and _called_name(raised) == "ValueError":
                    yield from _literal(raised.args[0]) if raised.args else ()
