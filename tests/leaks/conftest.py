"""pytest fixtures of the leak tests: the debugger under test (reusing the
integration framework's drivers in tests/integration/debuggers.py, so each
case runs under GDB and LLDB alike), the built leak programs, and memcheck's
verdicts for them (one valgrind run per program per test session).
"""

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import debuggers  # noqa: E402
import valgrind_leaks  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--debugger", action="append", default=[],
                     help="debugger to test (gdb, lldb); default: all registered")


def pytest_generate_tests(metafunc):
    if "debugger" in metafunc.fixturenames:
        names = metafunc.config.getoption("debugger") or sorted(debuggers.DRIVERS) or ["gdb"]
        metafunc.parametrize("debugger", names)


@pytest.fixture
def driver(debugger):
    found = debuggers.DRIVERS.get(debugger)
    if found is None:
        pytest.skip("no %s driver (tests/integration/%s_driver.py)" % (debugger, debugger))
    reason = found.unavailable_reason()
    if reason:
        pytest.skip(reason)
    if not os.path.isfile(debuggers.runtime_path()):
        pytest.skip("runtime %s is not built" % debuggers.runtime_path())
    return found


@pytest.fixture
def session(driver, tmp_path):
    """session(steps) -> results, run in a fresh debugger in tmp_path."""
    def run_session(steps):
        return driver.run(steps, str(tmp_path))
    return run_session


def leak_program(name):
    path = os.path.join(debuggers.build_root(), "tests", "leaks", "programs", name)
    if not os.access(path, os.X_OK):
        pytest.skip("%s is not built" % path)
    return path


_memcheck_cache = {}


def memcheck(name, sources, heuristics="all"):
    """memcheck's {category: (count, bytes)} for the program's own blocks."""
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    key = (name, heuristics)
    if key not in _memcheck_cache:
        _memcheck_cache[key] = valgrind_leaks.check(leak_program(name), sources, heuristics)
    return _memcheck_cache[key]
