"""The user's settings file, read by the commands of both debuggers.

Where: $MEMSNAP_SETTINGS if set, else $XDG_CONFIG_HOME/memsnap/settings.ini
(~/.config/memsnap/settings.ini when XDG_CONFIG_HOME is unset); a missing
file means no settings. An INI file with one section, [memsnap]:
`alloc-fn` (function-name globs of allocator wrappers, added to every
command's --alloc-fn; model/keyframe.py) and `suppress` (leak suppression
files used by every memleaks; leaks/suppressions.py), each a list of words
separated by spaces or newlines; `~` in a path is the home directory and a
relative path is relative to the settings file. It is read (a regular file,
at most 64 KiB, user_files.py) at every command, so an edit applies at once,
and never executed. A bad file is a one-line error naming it.
docs/settings.md documents it for users.
"""

import configparser
import os

from ..errors import MemsnapError
from ..user_files import read_user_file

SECTION = "memsnap"
KEYS = ("alloc-fn", "suppress")
_LIMIT = 64 * 1024


class Settings:
    """What the settings file says (empty without one)."""

    def __init__(self, path=None, alloc_fns=(), suppress=()):
        self.path = path
        self.alloc_fns = tuple(alloc_fns)
        self.suppress = tuple(suppress)

    def apply(self, options):
        """Put the settings before a command's own --alloc-fn and --suppress
        values (the options it has)."""
        for dest, values in (("alloc_fn", self.alloc_fns), ("suppress", self.suppress)):
            if hasattr(options, dest):
                setattr(options, dest, values + tuple(getattr(options, dest)))


def settings_path(environ=os.environ):
    """Where the settings file is looked for."""
    if environ.get("MEMSNAP_SETTINGS"):
        return environ["MEMSNAP_SETTINGS"]
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config, "memsnap", "settings.ini")


def apply_settings(options):
    """Settings.apply() with the settings file, read only when a command has
    an option it sets."""
    if hasattr(options, "alloc_fn") or hasattr(options, "suppress"):
        load_settings().apply(options)


def load_settings(path=None):
    """The Settings of the file at `path` (settings_path() by default)."""
    path = path or settings_path()
    if not os.path.lexists(path):
        return Settings()
    text = read_user_file(path, _LIMIT).decode("utf-8", "replace")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as err:
        raise MemsnapError("bad settings file %s: %s" % (path, str(err).splitlines()[0]))
    unknown = [s for s in parser.sections() if s != SECTION]
    unknown += ["%s.%s" % (SECTION, k) for k in parser[SECTION]] if parser.has_section(SECTION) else []
    unknown = [u for u in unknown if u not in ["%s.%s" % (SECTION, k) for k in KEYS]]
    if unknown:
        raise MemsnapError("bad settings file %s: unknown %s (known: [%s] %s)"
                           % (path, ", ".join(unknown), SECTION, ", ".join(KEYS)))
    section = parser[SECTION] if parser.has_section(SECTION) else {}
    base = os.path.dirname(os.path.abspath(path))
    suppress = [os.path.join(base, os.path.expanduser(p))
                for p in section.get("suppress", "").split()]
    return Settings(path, section.get("alloc-fn", "").split(), suppress)
