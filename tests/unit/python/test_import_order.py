"""python/memsnap's imports run one way: no cycle, and no room importing a later one.

Every import statement of every module (function-local ones included) is
read with ast and resolved to the package's modules; the graph must have
no cycle, and each import must go to a module of the same or an earlier
room in the order docs/architecture.md states: errors (and failures, the
build's buildconfig) -> target -> table -> model -> leaks -> session ->
views -> api -> the package's __init__. adapters/ serves the debugger
adapters only: no module of the core imports it.
"""

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "python", "memsnap")
ROOMS = ["errors", "target", "table", "model", "leaks", "session", "views", "api", "__init__"]
BOTTOM = {"failures", "buildconfig", "user_files", "printable"}  # shared leaves, with errors
GENERATED = {"buildconfig"}               # written by meson (python/memsnap/meson.build)


def modules():
    """{dotted name below memsnap: path}; a package is its __init__.py."""
    found = {}
    for directory, _, files in os.walk(PACKAGE):
        package = os.path.relpath(directory, PACKAGE).replace(os.sep, ".")
        for f in files:
            if f.endswith(".py"):
                name = f[:-3] if package == "." else package + "." + f[:-3]
                found[name[:-len(".__init__")] if name.endswith(".__init__") else name] = \
                    os.path.join(directory, f)
    return found


def imports(name, path, known):
    """The modules of the package that module `name` imports."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package and package != "__init__" else []
                base = ".".join(parts[:len(parts) - node.level + 1])
            elif node.module and node.module.split(".")[0] == "memsnap":
                base = ""
                node.module = node.module[len("memsnap"):].lstrip(".") or None
            else:
                continue
            target = ".".join(p for p in (base, node.module) if p)
            for alias in node.names:
                child = ".".join(p for p in (target, alias.name) if p)
                found.add(child if child in known or alias.name in GENERATED else (target or "__init__"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "memsnap":
                    found.add(alias.name[len("memsnap."):] or "__init__")
    found.discard(name)
    return found


def room(name):
    first = name.split(".")[0]
    if first in BOTTOM:
        return 0
    if first == "adapters":
        return len(ROOMS)
    return ROOMS.index(first)


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_rooms_import_only_their_own_or_earlier_ones():
    edges = graph()
    assert len(edges) > 30
    backwards = ["%s imports %s" % (source, target)
                 for source, targets in sorted(edges.items()) for target in sorted(targets)
                 if room(target) > room(source)]
    assert backwards == []


def test_no_import_cycle():
    edges = graph()
    cycles = []
    state = {}

    def visit(name, path):
        state[name] = "open"
        for target in sorted(edges.get(name, ())):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target] if target in path else [name, target])
            elif target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_walk_sees_imports():
    """The checks above would pass on a graph without edges: this one cannot."""
    edges = graph()
    assert "target.backend" in edges["target.target"] or "target.memory" in edges["target.target"]
    assert "model.snapshot" in edges["session"] and "buildconfig" in edges["leaks.scanlib"]
    assert "views.commands" not in edges["views.cmd_memstat"]
