"""The package's floors: every module under ``sim/`` imports only from the
floors below its own (or its own floor without a cycle), read from the source
with ``ast`` so that ``TYPE_CHECKING`` and function-level imports count too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

#: bottom to top; a module's floor is the first entry its dotted name starts with
FLOORS = (
    ("sim.errors", "sim.units", "sim.table", "sim.files", "sim.survival", "sim._version", "sim.bundled"),
    ("sim.config",),
    ("sim.model",),
    ("sim.regimes",),
    ("sim.run",),
    ("sim.analysis",),
    ("sim.experiment",),
    ("sim.present",),
    ("sim.cli", "sim.__main__", "sim"),
)
#: analysis never runs the model: numbers in, numbers out
NEVER = {"sim.analysis": ("sim.model.process", "sim.regimes", "sim.run")}
#: the one import allowed to point sideways inside a floor against the cycle rule
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()


def _name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _floor(module: str) -> int:
    best, depth = -1, -1
    for i, members in enumerate(FLOORS):
        for m in members:
            if (module == m or module.startswith(m + ".")) and len(m) > depth:
                best, depth = i, len(m)
    if best < 0:
        raise AssertionError(f"{module}: on no floor")
    return best


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sim")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "sim":
                continue
            for a in node.names:     # ``from sim.model import process`` imports a module
                sub = f"{target}.{a.name}"
                found.add(sub if (SIM.parent / (sub.replace(".", "/") + ".py")).exists()
                          or (SIM.parent / sub.replace(".", "/")).is_dir() else target)
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    return {_name(p): _imports(p, _name(p)) for p in sorted(SIM.rglob("*.py"))}


GRAPH = _graph()


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    mine = _floor(module)
    up = sorted(t for t in GRAPH[module] if t != "sim" and _floor(t) > mine)
    assert not up, f"{module} (floor {mine}) imports from a higher floor: {up}"
    if module == "sim" or module.startswith("sim.cli") or module == "sim.__main__":
        return
    assert "sim" not in GRAPH[module], f"{module} imports the public API package 'sim' itself"
    for floor, banned in NEVER.items():
        if module == floor or module.startswith(floor + "."):
            bad = sorted(t for t in GRAPH[module] if any(t == b or t.startswith(b + ".") for b in banned))
            assert not bad, f"{module} must not import {bad}"


def test_no_import_cycles():
    graph = {m: {t for t in deps if t in GRAPH and (m, t) not in ALLOWED_CYCLE_EDGES}
             for m, deps in GRAPH.items()}
    # a subpackage's __init__ importing its own modules is how packages work; an
    # edge into a package from one of its modules is what closes a cycle
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
