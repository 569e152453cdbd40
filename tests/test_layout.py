"""Rules of the code base that a test can keep: the pymodbus fence, docstrings on every module."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "wattlog"


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def test_only_the_transport_imports_pymodbus():
    importers = []
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "pymodbus" or n.startswith("pymodbus.") for n in names):
                importers.append(path.relative_to(SRC).as_posix())
    assert sorted(set(importers)) == ["transport/modbus.py"]


def test_every_module_says_what_it_is():
    missing = [p.relative_to(SRC).as_posix() for p in modules()
               if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not missing, f"modules without a docstring: {missing}"


# The layers, lowest first: a module may import its own package and the layers below it, never one
# above. docs/architecture.md says what each one is for.
LAYERS = [
    "quantities", "errors", "validate", "address", "meters", "reading", "live", "transport", "polling", "sim",
    "store", "analytics", "tariffs", "reports", "documents", "plc", "sinks", "alarms", "passwords", "webconfig",
    "config", "site", "service", "web",
    "cli",
]
BANNED_NAMES = {"common", "misc", "utils", "util", "more", "parts", "helpers", "stuff"}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def imports_of(path: Path) -> set[str]:
    """Every wattlog module `path` imports, at module level or inside functions (not under TYPE_CHECKING)."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("wattlog")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("wattlog"):
                continue
            for a in node.names:  # `from . import x` may name a module
                sub = f"{mod}.{a.name}"
                found.add(sub if _module_path(sub) else mod)
    return found - {".".join(parts)}


def _module_path(module: str) -> Path | None:
    base = SRC.parent.joinpath(*module.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.exists():
            return p
    return None


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in modules():
        rel = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        graph[name] = {m for m in imports_of(path) if _module_path(m)}
    return graph


def test_every_package_has_a_layer():
    tops = {_top(m) for m in _graph()} - {""}
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS (and to docs/architecture.md)"


def test_no_module_imports_a_layer_above_its_own():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [f"{m} imports {i}" for m, deps in _graph().items() for i in deps
              if _top(m) and _top(i) and rank[_top(i)] > rank[_top(m)]]
    assert not upward, "imports that point up the layers:\n" + "\n".join(sorted(upward))


def test_no_import_cycle_between_files():
    graph = _graph()
    # a package's __init__ importing its own modules is how packages re-export: not a cycle
    edges = {m: {d for d in deps if not (m.startswith(d + ".") and d in graph)} for m, deps in graph.items()}
    edges = {m: {d for d in deps if not (d.startswith(m + ".") and (SRC.parent / Path(*m.split("."))).is_dir())}
             for m, deps in edges.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_is_named_for_nothing():
    bad = [p.relative_to(SRC).as_posix() for p in modules()
           if p.stem in BANNED_NAMES or p.stem.endswith(("_more", "_misc", "_parts"))]
    assert not bad, f"name these for what they hold: {bad}"


def test_the_drawn_exception_tree_is_the_real_one():
    import inspect

    import wattlog.errors as errors

    doc = errors.__doc__ or ""
    drawn: dict[str, str | None] = {}
    parents: list[tuple[int, str]] = []
    for line in doc.splitlines():
        if not line.startswith("    ") or not line.strip():  # the drawing is the indented block
            continue
        cleaned = line.replace("├──", "   ").replace("└──", "   ").replace("│", " ")
        name = cleaned.split()[0] if cleaned.split() else ""
        if not name.isidentifier() or not name[0].isupper():
            continue
        depth = len(cleaned) - len(cleaned.lstrip())
        while parents and parents[-1][0] >= depth:
            parents.pop()
        drawn[name] = parents[-1][1] if parents else None
        parents.append((depth, name))
    real = {name: (cls.__base__.__name__ if cls.__base__ is not Exception else None)
            for name, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, errors.WattlogError) and cls.__module__ == errors.__name__}
    assert drawn == real


def test_every_wattlog_error_lives_in_errors_py():
    outside = []
    for path in modules():
        if path.name == "errors.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    (isinstance(b, ast.Name) and b.id.endswith(("Error", "Problems", "Failed", "Unavailable", "NoData")))
                    or (isinstance(b, ast.Name) and b.id in ("Exception", "WattlogError")) for b in node.bases):
                outside.append(f"{path.relative_to(SRC).as_posix()}: {node.name}")
    assert not outside, f"move these into errors.py (and its drawing): {outside}"
