"""pytest fixtures of the integration suites: the debugger under test and test programs.

`--debugger=NAME` (repeatable) picks the drivers; by default every
registered one. Each test taking the `session` fixture runs once per
debugger: session(steps) runs the steps in that debugger (in the test's
tmp dir) and returns the results. A debugger whose driver is missing or
unavailable skips its tests. Programs come from the meson build tree
(MEMSNAP_BUILD_ROOT, set by meson test).
"""

import os

import pytest

import debuggers


def pytest_addoption(parser):
    parser.addoption("--debugger", action="append", default=[],
                     help="debugger to test (gdb, lldb); default: all registered")


def pytest_generate_tests(metafunc):
    if "debugger" in metafunc.fixturenames:
        names = metafunc.config.getoption("debugger") or sorted(debuggers.DRIVERS)
        metafunc.parametrize("debugger", names)


@pytest.fixture
def driver(debugger):
    found = debuggers.DRIVERS.get(debugger)
    if found is None:
        pytest.skip("no %s driver (tests/integration/%s_driver.py)" % (debugger, debugger))
    reason = found.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return found


@pytest.fixture
def session(driver, tmp_path):
    """session(steps) -> results, run in a fresh debugger in tmp_path."""
    def run_session(steps):
        return driver.run(steps, str(tmp_path))
    return run_session


def program_path(relative):
    """Path of a built test program, e.g. 'tests/programs/waste_memory'."""
    return os.path.join(debuggers.build_root(), relative)


@pytest.fixture
def program():
    def find(relative):
        path = program_path(relative)
        if not os.access(path, os.X_OK):
            pytest.skip("%s is not built" % path)
        return path
    return find


@pytest.fixture
def runtime():
    path = debuggers.runtime_path()
    if not os.path.isfile(path):
        pytest.skip("runtime %s is not built" % path)
    return path
