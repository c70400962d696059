"""pytest fixtures of the leak tests: the debugger under test (reusing the
debugger framework's drivers in tests/support/debuggers.py, so each
case runs under GDB and LLDB alike), the built leak programs, and memcheck's
verdicts for them (one valgrind run per program per test session).
"""

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPORT = os.path.join(os.path.dirname(HERE), "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import valgrind_leaks  # noqa: E402
from debugger_fixtures import (  # noqa: E402,F401  (the integration framework's hooks)
    built_program, pytest_addoption, pytest_generate_tests, runtime, session, usable_driver)


@pytest.fixture
def driver(debugger, runtime):
    """The debugger's driver; skips without it or without the built runtime."""
    return usable_driver(debugger)


def leak_program(name):
    return built_program(os.path.join("tests", "leaks", "programs", name))


_memcheck_cache = {}


def memcheck(name, sources, heuristics="all", env=None):
    """memcheck's {category: (count, bytes)} for the program's own blocks
    (run with `env` added to its environment)."""
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    key = (name, heuristics, tuple(sorted((env or {}).items())))
    if key not in _memcheck_cache:
        _memcheck_cache[key] = valgrind_leaks.check(leak_program(name), sources, heuristics,
                                                    env=env)
    return _memcheck_cache[key]
