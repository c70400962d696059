"""pytest fixtures of the integration suites: the debugger under test and test programs.

`--debugger=NAME` (repeatable) picks the drivers; by default every
registered one. Each test taking the `session` fixture runs once per
debugger: session(steps) runs the steps in that debugger (in the test's
tmp dir) and returns the results. A debugger whose driver is missing or
unavailable skips its tests. Programs come from the meson build tree
(MEMSNAP_BUILD_ROOT, set by meson test). The hooks and fixtures are
defined in debugger_fixtures.py, which tests/leaks shares.
"""

from debugger_fixtures import (  # noqa: F401  (pytest finds hooks and fixtures here)
    driver, program, pytest_addoption, pytest_generate_tests, runtime, session)
