"""The public API: every type that AsyncRenderer and DistributedCacheManager take or return is
importable from ``asyncrender``; the package has no import cycle."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path
from typing import Any

import asyncrender
from asyncrender import AsyncRenderer, DistributedCacheManager

PACKAGE = Path(asyncrender.__file__).parent


def _named_types(hint: Any) -> set[type]:
    """The classes (and TypedDicts) an annotation names, at any depth."""
    found: set[type] = set()
    args = typing.get_args(hint)
    if args:
        for arg in args:
            found |= _named_types(arg)
    origin = typing.get_origin(hint)
    target = hint if origin is None else origin
    if isinstance(target, type):
        found.add(target)
    return found


def test_every_type_of_the_public_classes_is_exported() -> None:
    exported = {id(getattr(asyncrender, name)) for name in asyncrender.__all__}
    missing = set()
    for cls in (AsyncRenderer, DistributedCacheManager):
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") and name != "__init__":
                continue
            func = member.fget if isinstance(member, property) else member
            if not callable(func):
                continue
            for hint in typing.get_type_hints(func).values():
                for named in _named_types(hint):
                    if named.__module__.startswith("asyncrender") and id(named) not in exported:
                        missing.add(f"{cls.__name__}.{name}: {named.__module__}.{named.__qualname__}")
    assert not missing, sorted(missing)


def _imports(path: Path) -> set[str]:
    """The asyncrender modules a file imports, function-level imports included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("asyncrender"):
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("asyncrender")}
    return names


def test_no_import_cycle_function_level_imports_included() -> None:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    # A package's __init__ re-exports its modules: only its submodules may import from it.
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in graph[name]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(dep):], dep]))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state and name != "asyncrender":
            visit(name, [name])


def test_layers_point_one_way() -> None:
    """cli -> run, outputs -> executors -> worker -> render, cache, inputs -> model, config: no room
    imports a room above it (the package's ``__init__`` and ``__main__`` are entrances, not rooms)."""
    rank = {"cli": 5, "outputs": 4, "run": 4, "executors": 3, "worker": 2, "render": 1, "cache": 1, "inputs": 1}
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE and path.name in ("__init__.py", "__main__.py"):
            continue
        room = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for module in _imports(path):
            target = module.split(".")[1]
            if rank.get(target, 0) > rank.get(room, 0):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not wrong, wrong
