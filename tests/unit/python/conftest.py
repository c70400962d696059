"""pytest setup for the core's tests: puts python/ (the memsnap package) and
tests/support (the fake target) on sys.path, resets the module-level session (and
the source lines it read) between tests,
and provides the waste_memory-shaped fake target used by many tests."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

import memsnap.session  # noqa: E402
import waste_scenario  # noqa: E402
from memsnap.target import sourcelines  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_session():
    memsnap.session.current = memsnap.session.Session()
    sourcelines.clear_cache()
    yield
    memsnap.session.current = memsnap.session.Session()
    sourcelines.clear_cache()


@pytest.fixture
def waste():
    return waste_scenario.Waste()
