"""pytest fixtures of the debugger suites: the debugger under test and test programs.

`--debugger=NAME` (repeatable) picks the drivers; by default every
registered one. Each test taking the `session` fixture runs once per
debugger: session(steps) runs the steps in that debugger (in the test's
tmp dir) and returns the results. A debugger whose driver is missing or
unavailable skips its tests. Programs come from the meson build tree
(MEMSNAP_BUILD_ROOT, set by meson test). The hooks and fixtures are
defined in tests/support/debugger_fixtures.py, which tests/leaks shares.
"""

import os
import sys

SUPPORT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

from debugger_fixtures import (  # noqa: E402,F401  (pytest finds hooks and fixtures here)
    driver, program, pytest_addoption, pytest_generate_tests, runtime, session)
