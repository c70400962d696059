"""Leak suppressions: known leaks that memleaks leaves out, and counts.

A suppression file (`memleaks --suppress FILE`, or the settings file's
`suppress`, views/settings.py) has one rule per line; blank lines and lines
starting with '#' are ignored. A rule is a glob (fnmatch, case-sensitive),
optionally prefixed `leak:` as in LeakSanitizer's files; a block is
suppressed when any frame of its traceback matches a rule by function name,
module path or base name, or source file name. Frames are matched as far
as the snapshot recorded them. Applied per site (model/filters.py's way):
split() returns the kept and the suppressed part of a snapshot.
"""

import fnmatch
import re

from ..errors import MemsnapError
from ..model.filters import BaseFilter
from ..target.modules import module_basename
from ..user_files import read_user_file

_LIMIT = 1024 * 1024


def read_suppressions(path):
    """The rules (globs) of the suppression file at `path`."""
    rules = []
    text = read_user_file(path, _LIMIT).decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("leak:"):
            line = line[len("leak:"):].strip()
        if not line or any(c.isspace() for c in line):
            raise MemsnapError("bad suppression file %s, line %d: one glob per line, not '%s'"
                               % (path, number, line))
        rules.append(line)
    return rules


class SuppressionFilter(BaseFilter):
    """Matches a site when a frame matches one of `rules` (inclusive=True:
    keeps the suppressed sites; False: drops them)."""

    def __init__(self, inclusive, rules):
        super().__init__(inclusive)
        self.rules = tuple(rules)
        self._match = re.compile("|".join("(?:%s)" % fnmatch.translate(r) for r in rules)).match

    def _frame_matches(self, frame):
        names = (frame.function, frame.module, frame.module and module_basename(frame.module),
                 frame.filename)
        return any(name and self._match(name) for name in names)

    def _match_site(self, domain, key_frame, all_frames):
        found = any(self._frame_matches(f) for f in all_frames())
        return found if self.inclusive else not found


def split(snapshot, rules):
    """(kept, suppressed): `snapshot` without and with only the sites a rule
    matches (`rules` not empty)."""
    return (snapshot.filter_traces([SuppressionFilter(False, rules)]),
            snapshot.filter_traces([SuppressionFilter(True, rules)]))
