"""python/memsnap is debugger-agnostic: no module imports gdb or lldb,
statically (every import statement of every file) and at run time (importing
every module in a fresh interpreter leaves gdb/lldb out of sys.modules)."""

import ast
import os
import subprocess
import sys

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                       "python", "memsnap")
FORBIDDEN = {"gdb", "lldb", "_lldb"}


def modules():
    """Dotted names below memsnap of every module of the package ("__init__" for it)."""
    found = []
    for directory, _, files in os.walk(PACKAGE):
        prefix = os.path.relpath(directory, PACKAGE).replace(os.sep, ".")
        for f in files:
            if f.endswith(".py"):
                found.append(f[:-3] if prefix == "." else prefix + "." + f[:-3])
    return sorted(found)


def test_no_import_statement_names_a_debugger():
    offenders = []
    for name in modules():
        path = os.path.join(PACKAGE, *name.split(".")) + ".py"
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                    in ("import_module", "__import__") and node.args and \
                    isinstance(node.args[0], ast.Constant):
                names = [str(node.args[0].value)]
            for imported in names:
                if imported.split(".")[0] in FORBIDDEN:
                    offenders.append("%s.py:%d imports %s" % (name, node.lineno, imported))
    assert offenders == []
    assert len(modules()) >= 10


def test_importing_every_module_loads_no_debugger():
    code = (
        "import importlib, sys\n"
        "for name in %r:\n"
        "    importlib.import_module('memsnap.' + name) if name != '__init__' else None\n"
        "import memsnap, memsnap.views.commands\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in %r)\n"
        "print('LOADED', bad)\n" % (modules(), FORBIDDEN))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout
