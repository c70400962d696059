"""The settings file (python/memsnap/views/settings.py) and suppression files
(python/memsnap/leaks/suppressions.py): where they are looked for, what they
say, and one-line errors for bad files."""

from types import SimpleNamespace

import pytest

from memsnap import Snapshot
from memsnap.errors import MemsnapError
from memsnap.leaks.suppressions import read_suppressions, split
from memsnap.views.settings import load_settings, settings_path


def test_where_the_settings_file_is():
    assert settings_path({"MEMSNAP_SETTINGS": "/x/s.ini"}) == "/x/s.ini"
    assert settings_path({"XDG_CONFIG_HOME": "/cfg"}) == "/cfg/memsnap/settings.ini"


def test_settings_add_before_the_command_line(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text("[memsnap]\nalloc-fn = pool_* arena_new\nsuppress = a.supp\n  /abs/b.supp\n")
    settings = load_settings(str(path))
    assert settings.alloc_fns == ("pool_*", "arena_new")
    assert settings.suppress == (str(tmp_path / "a.supp"), "/abs/b.supp")
    options = SimpleNamespace(alloc_fn=("mine",), raw=False)
    settings.apply(options)
    assert options.alloc_fn == ("pool_*", "arena_new", "mine")
    assert not hasattr(options, "suppress")
    assert load_settings(str(tmp_path / "absent.ini")).alloc_fns == ()


@pytest.mark.parametrize("text, message", [
    ("[memsnap]\nalloc_fns = x\n", "unknown memsnap.alloc_fns"),
    ("[other]\n", "unknown other"),
    ("alloc-fn = x\n", "bad settings file"),
])
def test_bad_settings_files(tmp_path, text, message):
    path = tmp_path / "settings.ini"
    path.write_text(text)
    with pytest.raises(MemsnapError) as err:
        load_settings(str(path))
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_suppression_rules_match_function_module_or_file(tmp_path):
    path = tmp_path / "known.supp"
    path.write_text("# comment\n\nleak:dlopen*\nlibfoo.so*\n*/vendor/*\n")
    rules = read_suppressions(str(path))
    assert rules == ["dlopen*", "libfoo.so*", "*/vendor/*"]
    main = ("/src/main.c", 5, "main", 0x10, "/bin/prog", "")
    traces = [(0, 10, [("/src/a.c", 1, "dlopen_helper", 0x1, "/bin/prog", ""), main], 2),
              (0, 20, [("libfoo.so.1", 0, None, 0x2, "/usr/lib/libfoo.so.1", "+0x2"), main], 2),
              (0, 40, [("/src/vendor/z.c", 3, "z", 0x3, "/bin/prog", ""), main], 2),
              (0, 80, [("/src/b.c", 9, "b", 0x4, "/bin/prog", ""), main], 2)]
    kept, dropped = split(Snapshot(traces, 8), rules)
    assert (kept.total_size, dropped.total_size, dropped.total_count) == (80, 70, 3)


def test_bad_suppression_file(tmp_path):
    path = tmp_path / "bad.supp"
    path.write_text("ok\nleak:\n")
    with pytest.raises(MemsnapError, match="line 2"):
        read_suppressions(str(path))
    with pytest.raises(MemsnapError, match="not a regular file"):
        read_suppressions(str(tmp_path))
