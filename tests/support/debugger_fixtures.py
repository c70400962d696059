"""pytest hooks and fixtures shared by every suite that runs its cases under each debugger.

`--debugger=NAME` (repeatable) picks the drivers of debuggers.DRIVERS; by
default every registered one. A test taking the `debugger` fixture runs once
per debugger; `driver` is that debugger's driver (the test is skipped when
it is missing or unavailable); session(steps) runs the steps in a fresh
debugger in the test's tmp dir and returns the results; `program` finds a
built test program and `runtime` the built libmemsnap.so (skipping when
they are not built). The conftest.py of tests/debuggers and of
tests/leaks import these.
"""

import os

import pytest

import debuggers


def pytest_addoption(parser):
    parser.addoption("--debugger", action="append", default=[],
                     help="debugger to test (gdb, lldb); default: all registered")


def pytest_generate_tests(metafunc):
    if "debugger" in metafunc.fixturenames:
        names = metafunc.config.getoption("debugger") or sorted(debuggers.DRIVERS) or ["gdb"]
        metafunc.parametrize("debugger", names)


def usable_driver(debugger):
    """The driver of `debugger`; skips the test when there is none or it is unavailable."""
    found = debuggers.DRIVERS.get(debugger)
    if found is None:
        pytest.skip("no %s driver (tests/support/%s_driver.py)" % (debugger, debugger))
    reason = found.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return found


@pytest.fixture
def driver(debugger):
    return usable_driver(debugger)


@pytest.fixture
def session(driver, tmp_path):
    """session(steps) -> results, run in a fresh debugger in tmp_path."""
    def run_session(steps):
        return driver.run(steps, str(tmp_path))
    return run_session


def program_path(relative):
    """Path of a built test program, e.g. 'tests/programs/waste_memory'."""
    return os.path.join(debuggers.build_root(), relative)


def built_program(relative):
    """program_path(relative); skips the test when it is not built."""
    path = program_path(relative)
    if not os.access(path, os.X_OK):
        pytest.skip("%s is not built" % path)
    return path


@pytest.fixture
def program():
    """program(relative) -> path of a built test program (see built_program)."""
    return built_program


@pytest.fixture
def runtime():
    path = debuggers.runtime_path()
    if not os.path.isfile(path):
        pytest.skip("runtime %s is not built" % path)
    return path
