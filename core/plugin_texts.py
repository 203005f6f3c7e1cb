"""The user-visible texts of plugin classes, for ``pybabel extract`` (method ``campaign_plugin``).

A plugin's texts are class attributes (``title``, ``description``) and its settings schema
(field titles, which pydantic derives from the field names, descriptions and the values of
choice fields), not ``gettext`` calls a source scanner would find. This extractor imports
the scanned module, asks its ``register_*`` hooks for the classes it registers and yields
their texts: English message ids, a choice value with the context ``choice``. It also
finds the texts a module stores to be shown later (``core.messages.stored("...")`` and
``context.log("...")`` of a workflow pass) and the messages its settings validators raise
(``raise ValueError("...")``, looked up in the plugin's catalog as they are), in its source.
A plugin's ``babel.cfg`` maps its modules to it::

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

from core.hookspecs import hookspec
from core.plugin_base import Plugin

IMPL_MARK = f"{hookspec.project_name}_impl"
Extracted = tuple[int, str, str | tuple[str, str], list[str]]
STORED_TEXT_MARKERS = frozenset({"stored", "log"})
"""The calls whose first argument is a stored text's id: ``core.messages.stored`` (or a
module's own ``stored = stored_for(__name__)``) and ``WorkflowContext.log``."""
VALIDATOR_DECORATORS = frozenset({"field_validator", "model_validator"})
"""pydantic's decorators of a settings model's checks, whose ValueError a user reads."""


def registered_classes(module: object) -> list[type[Plugin]]:
    """The plugin classes the ``register_*`` hooks of ``module`` register."""
    classes: list[type[Plugin]] = []
    for name, function in vars(module).items():
        if name.startswith("register_") and hasattr(function, IMPL_MARK):
            parameters = inspect.signature(function).parameters
            if list(parameters) == ["register"]:
                function(register=classes.append)
    return [cls for cls in classes if isinstance(cls, type) and issubclass(cls, Plugin)]


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

    yield from walk(
        {
            key: schema[key]
            for key in ("properties", "items", "anyOf", "oneOf", "allOf", "$ref")
            if key in schema
        },
        frozenset(),
        (),
    )


def plugin_texts(cls: type[Plugin]) -> Iterator[tuple[str, str]]:
    """(context, English text) of everything the panel shows of ``cls``."""
    for attribute in ("title", "description"):
        if getattr(cls, attribute, None):
            yield "", getattr(cls, attribute)
    yield from schema_texts(cls.params_schema())


def _module_name(path: Path) -> str:
    """The dotted name of the module at ``path``: its packages are the folders above it with
    an ``__init__.py``; the folder above the top one goes on ``sys.path`` if it is not."""
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
        for context, text in plugin_texts(cls):
            if (context, text) in seen:
                continue
            seen.add((context, text))
            if context:
                yield line, "pgettext", (context, text), [f"{cls.kind} {cls.name}"]
            else:
                yield line, "gettext", text, [f"{cls.kind} {cls.name}"]
    fileobj.seek(0)
    source = fileobj.read()
    for line, text in [*stored_texts(source), *validator_texts(source)]:
        yield line, "gettext", text, []


def stored_texts(source: str | bytes) -> Iterator[tuple[int, str]]:
    """(line, id) of every stored text a module's source writes with a literal id, however
    deeply nested in other calls."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if _called_name(node) in STORED_TEXT_MARKERS and literal:
            yield first.lineno, first.value


def _called_name(node: ast.expr) -> str:
    """``name`` of ``name(...)``, ``module.name(...)``, ``name`` or ``module.name``."""
    if isinstance(node, ast.Call):
        node = node.func
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def validator_texts(source: str | bytes) -> Iterator[tuple[int, str]]:
    """(line, message) of every ValueError with a literal message that a pydantic validator
    of a module raises: the plugin's own English, which the panel looks up as it is in the
    plugin's catalog (``core.validation.problem_text``)."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef) or not any(
            _called_name(decorator) in VALIDATOR_DECORATORS for decorator in node.decorator_list
        ):
            continue
        for inner in ast.walk(node):
            raised = inner.exc if isinstance(inner, ast.Raise) else None
            if not isinstance(raised, ast.Call) or _called_name(raised) != "ValueError":
                continue
            first = raised.args[0] if raised.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.lineno, first.value
