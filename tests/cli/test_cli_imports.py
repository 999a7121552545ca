"""The CLI's modules import one way (no cycle), and each registers its commands on import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import detente.cli
from detente.cli import COMMAND_MODULES

PACKAGE = Path(detente.cli.__file__).parent
SHARED = {"program", "common", "options"}
"""The modules every command module may import; they import nothing else of the CLI."""


def _modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py"))


def _cli_imports(name: str) -> set[str]:
    """The CLI modules that module ``name`` imports (``__init__`` for the package itself)."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from detente.cli import common` imports the submodule, not the package's names
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [t if t.rsplit(".", 1)[1] in _modules() else node.module for t in targets]
        else:
            continue
        for target in targets:
            if target == "detente.cli":
                found.add("__init__")
            elif target.startswith("detente.cli."):
                found.add(target.split(".")[2])
    found.discard(name)
    return found


def test_the_import_graph_of_the_cli_has_no_cycle() -> None:
    graph = {name: _cli_imports(name) for name in _modules()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for dep in sorted(graph.get(name, ())):
            visit(dep, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_command_modules_import_only_the_shared_modules() -> None:
    for name in _modules():
        if name in ("__init__", "__main__"):
            continue
        allowed = {"program", "options"} if name == "common" else SHARED
        if name in ("program", "options"):
            allowed = set()
        assert _cli_imports(name) <= allowed, (name, _cli_imports(name) - allowed)


def test_every_command_module_is_registered() -> None:
    commands = set(_modules()) - SHARED - {"__init__", "__main__"}
    assert set(COMMAND_MODULES) == commands


def test_the_whole_program_has_every_command_whichever_module_came_first() -> None:
    # In one interpreter: before each import every detente.cli module is forgotten, so each
    # is imported as if first (the rest of detente stays loaded: starting an interpreter per
    # module would take seconds each), then the whole program is asked for. Forwards and
    # backwards, so the order cannot matter.
    script = f"""
import importlib, json, sys
names = {sorted(set(_modules()) - {"__main__"})!r}
seen = []
for order in (names, names[::-1]):
    for name in order:
        for key in [k for k in sys.modules if k == "detente.cli" or k.startswith("detente.cli.")]:
            del sys.modules[key]
        module = "detente.cli" if name == "__init__" else f"detente.cli.{{name}}"
        importlib.import_module(module)
        app = sys.modules["detente.cli"].app
        seen.append([c.callback.__module__ for c in app.registered_commands]
                    + [g.typer_instance.info.name for g in app.registered_groups])
print(json.dumps(seen))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    expected = seen[0]
    assert all(s == expected for s in seen)
    # every command module registered something, in the order of COMMAND_MODULES (--help)
    modules = [m.rsplit(".", 1)[1] for m in expected if m.startswith("detente.cli.")]
    order = [COMMAND_MODULES.index(m) for m in modules]
    assert order == sorted(order)
    assert set(modules) | {"runs"} == set(COMMAND_MODULES)
    assert "runs" in expected  # the `runs` group


def test_the_entry_points_run() -> None:
    for args in (["-m", "detente", "--version"], ["-m", "detente.cli", "--version"]):
        done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("detente ")
