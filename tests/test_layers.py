"""The package's layers: every import points down (or sideways within a layer), and no module
imports itself back through others. docs/ARCHITECTURE.md explains the layers; this is its proof.

Why a few lines of ``ast`` and not import-linter: the rules are a short ordered list that fits
in this file, the check runs in well under a second with no extra dependency in the test
environment, and it also sees *function-level* imports (both cycles the kiosk once had went
through them), which import-linter's default graph builder treats the same as module-level ones
but whose contracts would need a second tool to explain. If the rules ever grow beyond an
ordered list (independence contracts between sibling packages, say), import-linter is the tool
to switch to.

Every ``kiosk.*`` import is also checked to name a module that exists in this tree: in an
editable install a stale name (``kiosk.analysis.analyzer`` after it moved) can silently resolve to
another checkout's file instead of failing.
"""
from __future__ import annotations

import ast
from pathlib import Path

KIOSK = Path(__file__).resolve().parents[1] / "kiosk"

#: Bottom to top. A module may import modules of its own layer or of any layer below it.
#: The first matching prefix wins (so ``kiosk.privacy.policy`` sits low, ``kiosk.privacy.guard`` high).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vocabulary", ("kiosk.errors", "kiosk.types", "kiosk.age_bands", "kiosk.paths", "kiosk.process_age", "kiosk.safe_input", "kiosk.privacy.policy", "kiosk.privacy")),
    ("config", ("kiosk.config",)),
    ("models", ("kiosk.models",)),
    ("stages", ("kiosk.capture", "kiosk.detect", "kiosk.track", "kiosk.infer")),
    ("analysis", ("kiosk.analysis",)),
    ("pipeline", ("kiosk.pipeline", "kiosk.counters", "kiosk.notify", "kiosk.privacy.guard", "kiosk.privacy.environment",
                  "kiosk.privacy.process_limits", "kiosk.privacy.strict_start")),
    ("ui", ("kiosk.ui",)),
    ("tooling", ("kiosk.bench", "kiosk.eval")),
    ("cli", ("kiosk.cli",)),
)
#: ``kiosk`` itself (the version) is importable from anywhere; ``__main__`` modules are entry
#: points, the top of the stack (``python -m kiosk.bench`` runs the command line).
TOP = len(LAYERS)


def module_name(path: Path) -> str:
    rel = path.relative_to(KIOSK.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(KIOSK.rglob("*.py"))}


def layer_of(name: str) -> int:
    if name == "kiosk":
        return -1
    if name.endswith("__main__"):
        return TOP
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    assert best is not None, f"{name} is in no layer: add it to LAYERS in tests/test_layers.py"
    return best[1]


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported kiosk module, line) for every import in the file, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "kiosk"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "kiosk":
                continue
            for alias in node.names:  # `from kiosk.capture import thread` imports a module
                sub = f"{base}.{alias.name}"
                out.append((sub if sub in known else base, node.lineno))
    return out


def graph() -> dict[str, list[tuple[str, int]]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_every_kiosk_import_names_a_module_of_this_tree() -> None:
    known = set(modules())
    missing = [f"{name}:{line}: {target}" for name, edges in graph().items() for target, line in edges
               if target not in known]
    assert not missing, "imports of modules that do not exist here:\n" + "\n".join(missing)


def test_imports_point_down_the_layers() -> None:
    upward = []
    for name, edges in graph().items():
        for target, line in edges:
            if layer_of(target) > layer_of(name):
                upward.append(f"{name}:{line} ({LAYERS[layer_of(name)][0] if layer_of(name) < TOP else 'entry'}) "
                              f"imports {target} ({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports that point up a layer (see docs/ARCHITECTURE.md):\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    edges = {name: sorted({t for t, _ in targets if t != name}) for name, targets in graph().items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    # A package's __init__ importing its own submodules is not a cycle unless a submodule
    # imports the package back, which the walk above reports like any other cycle.
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_layer_test_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a stage importing the UI is caught (guards against a vacuous pass)."""
    assert layer_of("kiosk.detect.yunet") < layer_of("kiosk.ui.app")
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from kiosk.ui.app import KioskApp\n", encoding="utf-8")
    edges = imports_of("kiosk.detect.probe", probe, {"kiosk.ui.app"})
    assert edges == [("kiosk.ui.app", 2)]
