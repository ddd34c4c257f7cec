"""The house's rules, read from the code's own imports and definitions (see ARCHITECTURE.md).

Every ``import`` in ``src/tgvault`` counts, including the lazy ones inside functions and those under
``TYPE_CHECKING``: an arrow is an arrow whether it is taken at start-up or later. The checker is a few
functions over :mod:`ast`; the last tests run it on a small hand-made tree to show that it fails when
a rule is broken.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# The rooms of the house, by the first part of the module path under ``tgvault``. Longest prefix wins.
ROOMS: dict[str, str] = {
    "tgvault": "package",  # tgvault/__init__.py: the version
    "tgvault.__main__": "entry",
    "tgvault.domain": "kernel",
    "tgvault.errors": "kernel",
    "tgvault.text": "kernel",
    "tgvault.merge": "kernel",
    "tgvault.formats": "kernel",
    "tgvault.logs": "logs",
    "tgvault.config": "config",
    "tgvault.sources": "sources",
    "tgvault.services": "services",
    "tgvault.storage": "storage",
    "tgvault.export": "export",
    "tgvault.app": "app",
    "tgvault.daemon": "daemon",
    "tgvault.cli": "cli",
    "tgvault.testing": "testing",
}

# What each room may import, besides itself. The data flows sources → services → storage, and storage →
# export; the entry points (cli, daemon) sit on top of the composition root (app).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "package": frozenset(),
    "kernel": frozenset({"package"}),
    "logs": frozenset({"kernel"}),
    "config": frozenset({"package", "kernel"}),
    "sources": frozenset({"package", "kernel"}),
    "storage": frozenset({"package", "kernel"}),
    "services": frozenset({"package", "kernel", "sources", "storage"}),
    "export": frozenset({"package", "kernel", "storage"}),
    "app": frozenset({"package", "kernel", "config", "sources", "services", "storage", "export"}),
    "daemon": frozenset({"package", "kernel", "config", "sources", "services", "storage", "app"}),
    "cli": frozenset(
        {"package", "kernel", "logs", "config", "sources", "services", "storage", "export", "app", "daemon"}
    ),
    "entry": frozenset({"cli"}),
    "testing": frozenset({"package", "kernel"}),
}

# Single arrows allowed across rooms, each with its reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("tgvault.config.sections", "tgvault.storage.s3_store"): (
        "[media] store is checked with the S3 store's own address parser: one rule for what an S3 address is"
    ),
}

# Third-party libraries that belong to one room each (a line of code should know its room).
LIBRARY_ROOMS: dict[str, frozenset[str]] = {
    "telethon": frozenset({"sources", "testing"}),
    "jinja2": frozenset({"export"}),
    "sqlalchemy": frozenset({"storage", "app"}),
    "click": frozenset({"cli"}),
    "rich": frozenset({"cli"}),
    "apscheduler": frozenset({"daemon", "config"}),
}

MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 300
VAGUE_NAMES = frozenset({"utils", "util", "misc", "helpers", "helper", "common", "stuff"})


@dataclass(frozen=True)
class Arrow:
    """One import: ``source`` (a module of the tree) imports ``target`` (a module or a library)."""

    source: str
    target: str
    line: int


def module_files(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (a folder holding packages), by its dotted name."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def arrows(modules: Mapping[str, Path]) -> Iterator[Arrow]:
    """Every import of every module, resolved to the module it reaches (``from a import b`` reaches
    ``a.b`` when that is a module of the tree, else ``a``)."""
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Arrow(module, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(module, path, node)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    yield Arrow(module, sub if sub in modules else target, node.lineno)


def room_of(module: str) -> str | None:
    """The room a module of tgvault stands in (None for a module outside tgvault)."""
    best = ""
    for prefix in ROOMS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return ROOMS[best] if best else None


def arrows_against_the_flow(modules: Mapping[str, Path]) -> list[str]:
    """Imports between rooms that MAY_IMPORT does not allow, as readable lines."""
    found = []
    for arrow in arrows(modules):
        source, target = room_of(arrow.source), room_of(arrow.target)
        if source is None or target is None or source == target:
            continue
        if target not in MAY_IMPORT[source] and (arrow.source, arrow.target) not in EXCEPTIONS:
            found.append(f"{arrow.source}:{arrow.line} ({source}) imports {arrow.target} ({target})")
    return found


def libraries_out_of_their_room(modules: Mapping[str, Path]) -> list[str]:
    """Imports of a room-bound library (LIBRARY_ROOMS) from any other room."""
    found = []
    for arrow in arrows(modules):
        library = arrow.target.split(".")[0]
        rooms = LIBRARY_ROOMS.get(library)
        room = room_of(arrow.source)
        if rooms is not None and room not in rooms:
            found.append(f"{arrow.source}:{arrow.line} ({room}) imports {library}")
    return found


def import_cycles(modules: Mapping[str, Path]) -> list[list[str]]:
    """Groups of modules that import each other in a loop (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for arrow in arrows(modules):
        if arrow.target in graph and arrow.target != arrow.source:
            graph[arrow.source].add(arrow.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def oversized(modules: Mapping[str, Path]) -> list[str]:
    """Modules over MAX_MODULE_LINES lines and classes over MAX_CLASS_LINES lines."""
    found = []
    for module, path in modules.items():
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{module}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    found.append(f"{module}.{node.name}: {size} lines")
    return found


def vague_names(modules: Mapping[str, Path]) -> list[str]:
    """Modules and packages whose name says nothing of what they hold."""
    return sorted(m for m in modules if set(m.split(".")) & VAGUE_NAMES)


@pytest.fixture(scope="module")
def house() -> dict[str, Path]:
    return module_files(SRC)


def test_every_module_stands_in_a_room(house: dict[str, Path]) -> None:
    """A new top-level module must be given a room (and a line in ARCHITECTURE.md) before it lands."""
    assert [] == [module for module in house if room_of(module) is None]


def test_no_import_runs_against_the_flow(house: dict[str, Path]) -> None:
    assert [] == arrows_against_the_flow(house)


def test_libraries_stay_in_their_rooms(house: dict[str, Path]) -> None:
    """Telethon only in sources/ (and the shipped fakes), Jinja only in export/, SQLAlchemy only in
    storage/ (and the composition root), click and rich only in the CLI."""
    assert [] == libraries_out_of_their_room(house)


def test_no_import_cycles(house: dict[str, Path]) -> None:
    assert [] == import_cycles(house)


def test_no_room_outgrows_its_limits(house: dict[str, Path]) -> None:
    assert [] == oversized(house)


def test_names_say_what_a_room_holds(house: dict[str, Path]) -> None:
    assert [] == vague_names(house)


def test_every_package_is_installed(house: dict[str, Path]) -> None:
    """pyproject.toml lists the packages explicitly: a package missing there works in the editable
    install the tests use but is absent from a wheel."""
    import tomllib

    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(project["tool"]["setuptools"]["packages"])
    packages = {module for module, path in house.items() if path.name == "__init__.py"}
    assert set() == packages - listed


# The checker itself, on a small hand-made house: each rule fails when broken.


def _write(root: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return module_files(root)


def test_the_checker_sees_a_lazy_arrow_against_the_flow(tmp_path: Path) -> None:
    house = _write(
        tmp_path,
        {
            "tgvault/__init__.py": "",
            "tgvault/storage/__init__.py": "",
            "tgvault/storage/rows.py": "def f():\n    from tgvault.services import archiver\n",
            "tgvault/services/__init__.py": "",
            "tgvault/services/archiver.py": "from tgvault.storage import rows\n",
        },
    )
    assert [
        "tgvault.storage.rows:2 (storage) imports tgvault.services.archiver (services)"
    ] == arrows_against_the_flow(house)
    assert [["tgvault.services.archiver", "tgvault.storage.rows"]] == import_cycles(house)


def test_the_checker_sees_a_library_out_of_its_room_and_a_big_class(tmp_path: Path) -> None:
    big_class = "class Big:\n" + "    x = 1\n" * MAX_CLASS_LINES
    house = _write(
        tmp_path,
        {
            "tgvault/__init__.py": "",
            "tgvault/export/__init__.py": "",
            "tgvault/export/page.py": "import telethon.tl.types\n" + big_class,
            "tgvault/export/utils.py": "",
        },
    )
    assert ["tgvault.export.page:1 (export) imports telethon"] == libraries_out_of_their_room(house)
    assert [f"tgvault.export.page.Big: {MAX_CLASS_LINES + 1} lines"] == oversized(house)
    assert ["tgvault.export.utils"] == vague_names(house)


def test_the_checker_resolves_relative_imports(tmp_path: Path) -> None:
    house = _write(
        tmp_path,
        {
            "tgvault/__init__.py": "",
            "tgvault/sources/__init__.py": "",
            "tgvault/sources/web.py": "from ..storage import rows\n",
            "tgvault/storage/__init__.py": "",
            "tgvault/storage/rows.py": "",
        },
    )
    assert [
        "tgvault.sources.web:1 (sources) imports tgvault.storage.rows (storage)"
    ] == arrows_against_the_flow(house)
