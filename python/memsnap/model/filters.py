"""Filter and DomainFilter: tracemalloc's trace filters, applied per site.

Same constructors and semantics as tracemalloc: a Filter matches a filename
pattern (fnmatch, os.path.normcase'd), optionally a line number and a
domain; inclusive filters keep matching traces (any of them), exclusive ones
drop matching traces (all must pass). One difference, for C: without
all_frames the frame tested is the key frame (the innermost frame outside
the system libraries, see keyframe.py; the innermost frame with raw=True),
where tracemalloc tests the innermost frame. A filter only looks at a
block's domain and traceback, so a snapshot filters its sites, not blocks.
"""

import fnmatch
import os.path


def _normalize(filename):
    return os.path.normcase(filename)


class BaseFilter:
    def __init__(self, inclusive):
        self.inclusive = inclusive

    def _match_site(self, domain, key_frame, all_frames):
        raise NotImplementedError


class Filter(BaseFilter):
    def __init__(self, inclusive, filename_pattern, lineno=None, all_frames=False, domain=None):
        super().__init__(inclusive)
        self._filename_pattern = _normalize(filename_pattern)
        self.lineno = lineno
        self.all_frames = all_frames
        self.domain = domain

    @property
    def filename_pattern(self):
        return self._filename_pattern

    def __repr__(self):
        return "<Filter inclusive=%r filename_pattern=%r lineno=%r all_frames=%r domain=%r>" % (
            self.inclusive, self._filename_pattern, self.lineno, self.all_frames, self.domain)

    def _frame_matches(self, frame):
        if not fnmatch.fnmatch(_normalize(frame.filename), self._filename_pattern):
            return False
        return self.lineno is None or frame.lineno == self.lineno

    def _match_site(self, domain, key_frame, all_frames):
        """key_frame() and all_frames() are called only when needed."""
        if self.all_frames:
            found = any(self._frame_matches(f) for f in all_frames())
            result = found if self.inclusive else not found
        else:
            frame = key_frame()
            matched = frame is not None and self._frame_matches(frame)
            result = matched ^ (not self.inclusive)
        if self.domain is not None:
            if self.inclusive:
                return result and domain == self.domain
            return result or domain != self.domain
        return result


class DomainFilter(BaseFilter):
    def __init__(self, inclusive, domain):
        super().__init__(inclusive)
        self._domain = domain

    @property
    def domain(self):
        return self._domain

    def __repr__(self):
        return "<DomainFilter inclusive=%r domain=%r>" % (self.inclusive, self._domain)

    def _match_site(self, domain, key_frame, all_frames):
        return (domain == self._domain) ^ (not self.inclusive)
