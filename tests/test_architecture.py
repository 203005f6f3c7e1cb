"""The dependency rules of docs/architecture.md, checked on the source with ``ast``.

Every import counts: at module level, inside a function, under ``TYPE_CHECKING``, and a
module named as literal text to ``importlib.import_module`` or ``importlib.resources.files``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.plugins import DEFAULT_PLUGINS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "plugins", "webapp")
LOADERS = {"import_module", "files"}
"""Functions whose literal module argument is an import as much as an import statement."""

KNOWN_CYCLES: dict[frozenset[str], str] = {}
"""Cycles that cannot be broken before a later move, each with the reason; keep this short."""

PUBLIC_API: dict[str, str] = {
    "core": "hookimpl, the plugin base classes and what hooks take",
    "core.plugin_base": "the plugin base classes, by their module",
    "core.hookspecs": "the hooks a plugin implements",
    "core.events": "the values hooks take and hand over",
    "core.engine": "RunContext, what every data source, filter and action receives",
    "core.engine.campaigns": "finding, building and copying campaigns",
    "core.engine.context": "RunContext, by its module",
    "core.engine.runs": "starting and cancelling runs",
    "core.workflows.context": "WorkflowContext, what a workflow's passes receive",
    "core.ledger": "reading a run's ledger without its tables",
    "core.models": "the core's tables and the declarative base of a plugin's own",
    "core.models.base": "column types for a plugin's models",
    "core.query": "query definitions, entities, compiling a query, loading records",
    "core.config": "the installation's settings",
    "core.db.database": "the database of a process of its own",
    "core.runtime": "settings, plugins, database and queue of a process",
    "core.jobs.functions": "the runtime inside a job",
    "core.cli": "the state and runtime of a plugin's commands",
    "core.plugins": "the registries of the other plugins' classes",
    "core.clock": "the current time, which tests set",
    "core.audit": "an entry in the audit log",
    "core.validation": "pydantic's errors as translatable messages",
    "core.notifications": "notifying users in the panel",
    "core.documents.templating": "the template sandbox",
    "core.documents.rendering": "rendering reports to HTML and PDF",
    "core.documents.archive": "the document archive and its stores",
    "core.reach": "who a channel may reach",
    "core.contact_events": "a contact's opt-out or block changed with its event",
    "core.messaging.mail": "building e-mails",
    "core.messaging.smtp": "sending e-mails over SMTP",
    "core.messaging.bounces": "bounce addresses",
    "core.messaging.unsubscribe": "unsubscribe links and tokens",
    "core.messaging.sms": "SMS rules",
    "core.sms_webhooks": "what an SMS gateway parses from its provider's webhooks",
    "core.messaging.sending": "what a sender can tell about one message",
    "core.uploads": "delivering files to an upload target",
    "core.http_requests": "HTTP credentials and Retry-After",
    "core.documents.csv_export": "writing CSV files",
    "core.documents.extraction": "writing extraction files for providers",
    "core.testing": "the plugin authors' test kit (a pytest plugin)",
    "core.plugin_texts": "pybabel's campaign_plugin extraction method (an entry point)",
    "core.messages": "texts stored as a message id and parameters, said in the reader's language",
    "core.engine.confirmation": "what a person confirms before a run reaches people",
    "core.engine.sending_window": "a campaign's sending window, read from a run's snapshot",
    "core.engine.operations": "creating a campaign with its audit entry",
    "core.workflows.operating": "operating the workflows: on and off, schedules, runs, history",
    "core.workflows.schedules": "a workflow's schedule and the time zone it runs in",
    "core.documents.run_files": "a run's files in a document store, and moving them",
    "core.jobs.queue": "the job queues, for a plugin's own background jobs",
}
"""The modules of the core a plugin may use, each with what for: docs/plugins.md lists them
as its public API ("What a plugin may use of the core")."""

PUBLIC_PACKAGES = ("core.models", "core.query")
"""Public packages whose modules a plugin may import too (``core.query.compiler``)."""

KERNEL_INTERNALS: dict[str, str] = {
    "core.engine.dispatch": "the worker's jobs that send a run's chunks and finish the run",
    "core.engine.events": "the run events the engine hands to the plugins' hooks",
    "core.engine.leases": "a chunk's lease and the recovery of abandoned ones",
    "core.engine.targeting": "the worker's job that targets a run into its ledger",
    "core.jobs.heartbeat": "keeping a lease alive while a long step runs",
    "core.models.run_files": "the table of core.documents.run_files",
    "core.jobs.scheduler": "the loop of `campaign scheduler`",
    "core.db.schema": "creating and upgrading the core's and every plugin's migration branch",
    "core.jobs.worker": "the loop of `campaign worker`",
}
"""Modules only the kernel itself uses, each with the part of the kernel it is."""

WAITING_TO_MOVE: dict[str, str] = {}
"""Modules one part of the product uses that cannot move into it before a later step, each
with the reason; keep this short."""


@dataclass(frozen=True)
class Import:
    """One module of the project importing another (or names from it)."""

    importer: str
    path: str
    line: int
    imported: str
    names: tuple[str, ...] = ()

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}{taken}"


def find_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module under the packages, by dotted name (a package by its ``__init__.py``)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def read_imports(root: Path, packages: Iterable[str] = PACKAGES) -> list[Import]:
    """The imports between the project's modules, wherever in a module they are written; an
    import counts for the module it names, not for the packages Python initialises above it."""
    modules = find_modules(root, packages)
    found: dict[tuple[str, str, int, str], tuple[str, ...]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        where = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            for target, names in _targets(node, name, is_package, modules):
                module = _known(target, modules)
                if module is not None and module != name:
                    key = (name, where, node.lineno, module)
                    found[key] = found.get(key, ()) + names
    return [Import(*key, names) for key, names in found.items()]


def _targets(
    node: ast.AST, module: str, is_package: bool, modules: dict[str, Path]
) -> Iterator[tuple[str, tuple[str, ...]]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, ()
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            yield (submodule, ()) if submodule in modules else (base, (alias.name,))
    elif isinstance(node, ast.Call) and node.args:
        function = node.func
        called = (
            function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        )
        first = node.args[0]
        if called in LOADERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield first.value, ()


def _known(target: str, modules: dict[str, Path]) -> str | None:
    """The project module ``target`` names, or the nearest package of it; None outside."""
    while target not in modules:
        if "." not in target:
            return None
        target = target.rpartition(".")[0]
    return target


def layer(module: str) -> str:
    return module.partition(".")[0]


def panel_public_names(root: Path = ROOT) -> set[str]:
    """The panel's public helpers: ``webapp.__all__``, the one list plugin screens may use."""
    tree = ast.parse((root / "webapp" / "__init__.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return set(ast.literal_eval(node.value))
    raise AssertionError("webapp/__init__.py has no __all__")


def kind(module: str) -> str:
    """The plugin kind a module under ``plugins`` belongs to (``plugins.filters.consent``:
    ``filters``); empty for the ``plugins`` package itself."""
    return module.split(".")[1] if "." in module else ""


def plugin_of(module: str) -> str | None:
    """The built-in plugin ``module`` belongs to; None for a kind's shared helper module."""
    for plugin in DEFAULT_PLUGINS:
        if module == plugin or module.startswith(plugin + "."):
            return plugin
    return None


def declared_requirements(root: Path = ROOT) -> dict[str, set[str]]:
    """Each built-in plugin module's ``REQUIRES``: the bundles it may import."""
    modules = find_modules(root, ["plugins"])
    required = {}
    for name, path in modules.items():
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "REQUIRES" for target in node.targets
            ):
                required[name] = set(ast.literal_eval(node.value))
    return required


def plugin_violation(
    found: Import, public: set[str], requires: dict[str, set[str]] | None = None
) -> bool:
    """A plugin module may import the core, its own plugin, the shared helper modules of its
    own kind (``plugins/<kind>/`` modules that are no plugin themselves), a bundle its plugin
    (or, for a shared helper module, the helper itself) ``REQUIRES`` (``plugins.processes``
    for the process workflows) and the panel's public
    helpers by name (``from webapp import role_required``)."""
    imported = found.imported
    if layer(imported) == "webapp":
        return imported != "webapp" or not found.names or not set(found.names) <= public
    if layer(imported) != "plugins":
        return False
    owner = plugin_of(imported)
    importer = plugin_of(found.importer)
    required = (requires or {}).get(importer or found.importer, set())
    if owner is not None and owner in required:
        return False
    if kind(imported) != kind(found.importer):
        return True
    return owner is not None and owner != importer


def find_cycles(imports: Iterable[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        graph.setdefault(found.importer, set()).add(found.imported)
        graph.setdefault(found.imported, set())
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in on_stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(components)


def describe_cycle(component: list[str], imports: Iterable[Import]) -> str:
    """The modules of one cycle and every import that ties them, with file and line."""
    members = set(component)
    ties = sorted(
        (str(found) for found in imports if {found.importer, found.imported} <= members),
    )
    return "cycle of " + ", ".join(component) + ":\n    " + "\n    ".join(ties)


IMPORTS = read_imports(ROOT)


def test_the_core_imports_neither_plugins_nor_the_panel():
    wrong = [
        str(found)
        for found in IMPORTS
        if layer(found.importer) == "core" and layer(found.imported) != "core"
    ]
    assert wrong == []


def test_the_panel_imports_no_plugin():
    wrong = [
        str(found)
        for found in IMPORTS
        if layer(found.importer) == "webapp" and layer(found.imported) == "plugins"
    ]
    assert wrong == []


def test_a_plugin_imports_only_the_core_its_own_kind_and_the_panels_public_helpers():
    public = panel_public_names()
    requires = declared_requirements()
    wrong = [
        str(found)
        for found in IMPORTS
        if layer(found.importer) == "plugins" and plugin_violation(found, public, requires)
    ]
    assert wrong == []


def uses_core_internals(found: Import) -> bool:
    """A plugin's import of a core module outside the public API; a plugin's migration may
    import the core's handover of the tables the core created before (``core.migrations``)."""
    module = found.imported
    if layer(found.importer) != "plugins" or layer(module) != "core":
        return False
    if ".migrations." in found.importer and module.startswith("core.migrations."):
        return False
    public_package = any(module.startswith(package + ".") for package in PUBLIC_PACKAGES)
    return module not in PUBLIC_API and not public_package


def test_a_plugin_uses_only_the_public_api_of_the_core():
    """The built-in plugins use the core as a third-party plugin may (docs/plugins.md)."""
    assert [str(found) for found in IMPORTS if uses_core_internals(found)] == []


def test_no_modules_import_each_other_in_a_cycle():
    found = find_cycles(IMPORTS)
    cycles = [
        describe_cycle(component, IMPORTS)
        for component in found
        if frozenset(component) not in KNOWN_CYCLES
    ]
    assert not cycles, "\n".join(cycles)
    gone = set(KNOWN_CYCLES) - {frozenset(component) for component in found}
    assert not gone, f"no longer a cycle, remove it from KNOWN_CYCLES: {gone}"


def part(module: str) -> str:
    """The part of the product a module belongs to: the core, the panel, or one plugin (a
    bundle is one plugin; a kind's shared helper module counts on its own)."""
    if layer(module) == "plugins":
        return plugin_of(module) or module
    return layer(module)


def core_users(imports: Iterable[Import], packages: set[str]) -> dict[str, set[str]]:
    """The parts of the product that import each module of the core. A name imported from a
    package counts for the module the package takes it from (``from core.models import
    Contact``: ``core.models.addressbook``); a package taking names from its own modules
    uses none of them."""
    imports = list(imports)
    reexported: dict[str, dict[str, str]] = {}
    for found in imports:
        if found.importer in packages:
            for name in found.names:
                reexported.setdefault(found.importer, {})[name] = found.imported

    def origin(module: str, name: str) -> str:
        while name in reexported.get(module, {}):
            module = reexported[module][name]
        return module

    users: dict[str, set[str]] = {}
    for found in imports:
        if layer(found.imported) != "core":
            continue
        for module in {found.imported, *(origin(found.imported, name) for name in found.names)}:
            is_reexport = found.importer in packages and module.startswith(found.importer + ".")
            if module != found.importer and not is_reexport:
                users.setdefault(module, set()).add(part(found.importer))
    return users


def test_every_core_module_serves_two_parts_or_is_public_api():
    """A module of the core that fewer than two parts of the product use belongs to the one
    that does (docs/architecture.md), unless plugins may use it or the kernel runs on it."""
    modules = find_modules(ROOT)
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    users = core_users(IMPORTS, packages)
    listed = PUBLIC_API | KERNEL_INTERNALS | WAITING_TO_MOVE
    lonely = {
        name: sorted(users.get(name, ()))
        for name in modules
        if layer(name) == "core"
        and not name.startswith("core.migrations")
        and not only_names_its_modules(modules[name])
        and len(users.get(name, ())) < 2
    }
    unlisted = [f"{name}: used by {parts}" for name, parts in lonely.items() if name not in listed]
    assert unlisted == []
    gone = sorted(set(WAITING_TO_MOVE) - set(lonely))
    assert not gone, f"no longer used by one part only, remove from WAITING_TO_MOVE: {gone}"
    assert sorted(set(listed) - set(modules)) == []


def only_names_its_modules(path: Path) -> bool:
    """A package whose ``__init__`` holds only its docstring groups modules and serves no one."""
    body = ast.parse(path.read_text("utf-8")).body
    return path.name == "__init__.py" and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body
    )


def test_the_plugin_guide_names_the_public_modules_and_the_internal_ones():
    guide = (ROOT / "docs" / "plugins.md").read_text("utf-8")
    listed = PUBLIC_API | KERNEL_INTERNALS | WAITING_TO_MOVE
    assert [name for name in listed if f"`{name}`" not in guide] == []


# -- the reader itself, on a made-up tree ---------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_imports_inside_functions_for_type_checking_and_by_loader_count_too(tmp_path):
    root = write_tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/a.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from webapp.views import page\n",
            "core/b.py": "def later():\n    from . import a\n    import plugins.x.y\n",
            "core/c.py": "from importlib.resources import files\nDATA = files('plugins.x')\n",
            "plugins/__init__.py": "",
            "plugins/x/__init__.py": "",
            "plugins/x/y.py": "import os\nfrom core.a import thing\n",
            "webapp/__init__.py": "",
            "webapp/views.py": "",
        },
    )
    found = {(i.importer, i.line, i.imported, i.names) for i in read_imports(root)}
    assert found == {
        ("core.a", 3, "webapp.views", ("page",)),
        ("core.b", 2, "core.a", ()),
        ("core.b", 3, "plugins.x.y", ()),
        ("core.c", 2, "plugins.x", ()),
        ("plugins.x.y", 2, "core.a", ("thing",)),
    }


def test_a_cycle_is_reported_with_the_imports_that_make_it(tmp_path):
    root = write_tree(
        tmp_path,
        {
            "webapp/__init__.py": "",
            "webapp/views.py": "from webapp.prices import describe\nfrom webapp import t\n",
            "webapp/prices.py": "def f():\n    from webapp.views import bp\n",
        },
    )
    imports = read_imports(root, ["webapp"])
    assert find_cycles(imports) == [["webapp.prices", "webapp.views"]]
    assert describe_cycle(["webapp.prices", "webapp.views"], imports) == (
        "cycle of webapp.prices, webapp.views:\n"
        "    webapp/prices.py:2: webapp.prices imports webapp.views (bp)\n"
        "    webapp/views.py:1: webapp.views imports webapp.prices (describe)"
    )


def test_a_plugin_may_use_its_kinds_helpers_but_no_other_plugin_nor_the_panels_insides():
    public = {"role_required"}

    def allowed(importer: str, imported: str, *names: str) -> bool:
        return not plugin_violation(Import(importer, "x.py", 1, imported, names), public)

    assert allowed("plugins.filters.consent", "plugins.filters._common", "entity_batches")
    assert allowed("plugins.actions.print_reports", "plugins.actions.print_engine")
    assert allowed("plugins.actions.sms", "webapp", "role_required")
    assert allowed("plugins.actions.sms", "core.messaging.sms", "check_sender")
    assert not allowed("plugins.datasources.distribution_list", "plugins.datasources.query")
    assert not allowed("plugins.workflows.budget", "plugins.filters._common")
    assert not allowed("plugins.actions.sms", "webapp", "create_app")
    assert not allowed("plugins.actions.sms", "webapp.context", "db_session")


def test_a_plugin_may_use_the_cores_public_modules_but_not_its_machinery():
    def allowed(importer: str, imported: str) -> bool:
        return not uses_core_internals(Import(importer, "x.py", 1, imported))

    assert allowed("plugins.actions.sms", "core.messaging.sms")
    assert allowed("plugins.filters.consent", "core.query.compiler")
    assert allowed("plugins.webhooks.migrations.webhooks_0001", "core.migrations.webhook_tables")
    assert allowed("webapp.views", "core.engine.dispatch")
    assert not allowed("plugins.actions.sms", "core.engine.dispatch")
    assert not allowed("plugins.webhooks.service", "core.migrations.webhook_tables")


def test_a_plugin_may_import_a_bundle_it_requires():
    requires = {"plugins.workflows.stock": {"plugins.processes"}}

    def allowed(importer: str, imported: str) -> bool:
        return not plugin_violation(Import(importer, "x.py", 1, imported), set(), requires)

    assert allowed("plugins.workflows.stock", "plugins.processes.consumption")
    assert not allowed("plugins.workflows.budget", "plugins.processes.consumption")
    assert not allowed("plugins.actions.sms", "plugins.processes")


def test_a_core_module_counts_the_parts_that_use_it_through_a_package_too():
    imports = [
        Import("core.models", "core/models/__init__.py", 1, "core.models.contacts", ("Contact",)),
        Import("core.runs", "core/runs.py", 1, "core.models", ("Contact",)),
        Import("webapp.views", "webapp/views.py", 1, "core.models", ("Contact",)),
        Import(
            "plugins.actions.sms", "plugins/actions/sms.py", 1, "core.messaging.sms", ("check",)
        ),
        Import("plugins.processes.panel", "plugins/processes/panel.py", 1, "core.costs"),
        Import("plugins.processes.budget", "plugins/processes/budget.py", 1, "core.costs"),
    ]
    assert core_users(imports, {"core.models"}) == {
        "core.models": {"core", "webapp"},
        "core.models.contacts": {"core", "webapp"},
        "core.messaging.sms": {"plugins.actions.sms"},
        "core.costs": {"plugins.processes"},
    }
