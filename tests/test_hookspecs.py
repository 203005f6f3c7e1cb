"""Every hook in core/hookspecs.py is described in code and documented in docs/plugins.md.

The expected documentation is derived from the hook functions themselves, so adding a
hook to ``core/hookspecs.py`` without documenting it makes these tests fail.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from core import hookspecs
from core.plugins import REGISTER_HOOKS, load_plugins

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
SPEC_MARK = f"{hookspecs.hookspec.project_name}_spec"

HOOKS: dict[str, Callable[..., Any]] = {
    name: function
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, SPEC_MARK)
}


def annotation_text(annotation: Any) -> str:
    """The annotation as written in the source (hookspecs uses postponed annotations)."""
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def signature_text(function: Callable[..., Any]) -> str:
    """E.g. ``register_actions(register: Callable[[type[Action]], None]) -> None``."""
    signature = inspect.signature(function)
    parameters = ", ".join(
        f"{parameter.name}: {annotation_text(parameter.annotation)}"
        for parameter in signature.parameters.values()
    )
    return f"{function.__name__}({parameters}) -> {annotation_text(signature.return_annotation)}"


def type_checking_namespace() -> dict[str, Any]:
    """The module namespace plus the imports hookspecs makes only under TYPE_CHECKING."""
    namespace = dict(vars(hookspecs))
    tree = ast.parse(inspect.getsource(hookspecs))
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            code = compile(ast.Module(body=node.body, type_ignores=[]), hookspecs.__file__, "exec")
            exec(code, namespace)
    return namespace


def hook_reference() -> dict[str, str]:
    """The ``### name`` sections of the "Hook reference" chapter of docs/plugins.md."""
    text = DOCS.read_text(encoding="utf-8")
    chapter = re.search(r"^## Hook reference\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert chapter, "docs/plugins.md has no '## Hook reference' chapter"
    sections = re.split(r"^### ", chapter.group(1), flags=re.MULTILINE)[1:]
    result = {}
    for section in sections:
        heading, _, body = section.partition("\n")
        result[heading.strip()] = body
    return result


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", markdown, re.MULTILINE | re.DOTALL)


def test_hookspecs_are_found_and_match_what_pluggy_sees() -> None:
    manager = pluggy.PluginManager(hookspecs.hookspec.project_name)
    manager.add_hookspecs(hookspecs)
    pluggy_hooks = {name for name in vars(manager.hook) if not name.startswith("_")}
    assert set(HOOKS) == pluggy_hooks
    assert set(REGISTER_HOOKS) <= set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_has_a_one_line_docstring(name: str) -> None:
    doc = HOOKS[name].__doc__
    assert doc and doc.strip(), f"{name} has no docstring"
    assert "\n" not in doc.strip(), f"{name}'s docstring is longer than one line"
    assert doc.strip().endswith("."), f"{name}'s docstring is not a sentence"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_fully_annotated(name: str) -> None:
    signature = inspect.signature(HOOKS[name])
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty, (
            f"{name}: parameter {parameter.name!r} has no type annotation"
        )
        assert parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, (
            f"{name}: pluggy passes hook arguments by name; {parameter.name!r} is {parameter.kind}"
        )
    assert signature.return_annotation is not inspect.Signature.empty, (
        f"{name} has no return annotation"
    )
    # The annotations must name real types (those imported under TYPE_CHECKING included).
    hints = typing.get_type_hints(HOOKS[name], globalns=type_checking_namespace())
    assert set(hints) == {*signature.parameters, "return"}


def test_every_hook_has_a_section_in_the_hook_reference() -> None:
    documented = hook_reference()
    missing = sorted(set(HOOKS) - set(documented))
    assert not missing, f"docs/plugins.md lacks a '### name' section for {missing}"
    stale = sorted(set(documented) - set(HOOKS))
    assert not stale, f"docs/plugins.md documents hooks that do not exist: {stale}"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_section_shows_signature_and_docstring(name: str) -> None:
    section = hook_reference().get(name)
    assert section is not None, f"docs/plugins.md has no '### {name}' heading"
    blocks = python_blocks(section)
    assert blocks, f"'### {name}' has no python code block"
    assert blocks[0].strip() == signature_text(HOOKS[name]), (
        f"the first code block of '### {name}' must be its signature:\n"
        f"```python\n{signature_text(HOOKS[name])}\n```"
    )
    docstring = inspect.cleandoc(HOOKS[name].__doc__ or "").replace("``", "`")
    assert docstring in section, f"'### {name}' does not quote the docstring {docstring!r}"


@pytest.fixture
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for module in set(sys.modules) - before:
        if module.startswith("docs_example_"):
            del sys.modules[module]


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_example_is_a_working_plugin(name: str, import_dir: Path) -> None:
    section = hook_reference().get(name)
    assert section is not None, f"docs/plugins.md has no '### {name}' heading"
    examples = python_blocks(section)[1:]
    assert examples, f"'### {name}' has no example after its signature"
    module = f"docs_example_{name}"
    (import_dir / f"{module}.py").write_text("\n\n".join(examples), encoding="utf-8")

    host = load_plugins(modules=[module], entry_points=False)

    assert host.errors == []
    (loaded,) = host.loaded()
    assert name in loaded.hooks
    if name in REGISTER_HOOKS:
        kind = REGISTER_HOOKS[name][0]
        assert [k for k, _ in loaded.registrations] == [kind] * len(loaded.registrations)
        assert loaded.registrations, f"the {name} example registers nothing"
