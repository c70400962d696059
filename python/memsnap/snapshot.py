"""Snapshot: tracemalloc's Snapshot over memsnap's per-site data.

Internally a snapshot is a list of sites — (domain, stack, size, count) —
so grouping, filtering and comparing cost O(sites), not O(blocks). A
stack is a tuple of references resolved to Frames by a frame source (the
debugger's symbolizer, or a list of frames for snapshots built from
tracemalloc-style traces or loaded from a file); resolution is lazy and the
key frame of a site is found by resolving only as deep as needed. The
per-block table (address, size, site) is kept as read and turned into
Trace objects only when `traces` is used. Keys: 'lineno', 'filename',
'function' (memsnap's) and 'traceback'; cumulative for all but traceback.
"""

from collections.abc import Iterable, Sequence

from .errors import InvalidArgumentError
from .filters import BaseFilter
from .frames import Frame, UNKNOWN_FRAME
from .keyframe import pick_key_frame
from .model import Statistic, StatisticDiff, Trace, Traceback
from .symbolize import FrameListSource

KEY_TYPES = ("lineno", "filename", "function", "traceback")


class Site:
    """One (domain, stack) of a snapshot with its live size and count."""

    __slots__ = ("id", "domain", "refs", "total_nframe", "size", "count",
                 "_traceback", "_key_frame", "_raw_frame")

    def __init__(self, site_id, domain, refs, total_nframe, size, count):
        self.id = site_id
        self.domain = domain
        self.refs = refs                  # stack references, innermost first
        self.total_nframe = total_nframe
        self.size = size
        self.count = count
        self._traceback = None
        self._key_frame = None
        self._raw_frame = None


class _Traces(Sequence):
    """The snapshot's per-block traces, built on first use."""

    def __init__(self, snapshot):
        self._snapshot = snapshot
        self._list = None

    def _traces(self):
        if self._list is None:
            self._list = self._snapshot._build_traces()
        return self._list

    def __len__(self):
        return len(self._traces())

    def __getitem__(self, index):
        return self._traces()[index]

    def __contains__(self, trace):
        return trace in self._traces()

    def __eq__(self, other):
        if not isinstance(other, _Traces):
            return NotImplemented
        return self._traces() == other._traces()

    def __repr__(self):
        return "<Traces len=%s>" % len(self)


class Snapshot:
    """Snapshot of the traced heap blocks of a C/C++ program."""

    def __init__(self, traces, traceback_limit):
        # tracemalloc's constructor: traces are (domain, size, frames,
        # total_nframe[, address]) with frames most recent first.
        source = FrameListSource()
        sites = {}
        blocks = []
        for trace in traces:
            trace = tuple(trace)
            domain, size, frames = trace[0], trace[1], trace[2]
            total = trace[3] if len(trace) > 3 else None
            address = trace[4] if len(trace) > 4 else None
            if isinstance(frames, Traceback):
                innermost_first = tuple(reversed(frames._frames))
            else:
                innermost_first = tuple(f if isinstance(f, Frame) else Frame(f) for f in frames)
            refs = tuple(source.add((f,)) for f in innermost_first)
            key = (domain, refs, total)
            site = sites.get(key)
            if site is None:
                site = sites[key] = Site(len(sites) + 1, domain, refs, total, 0, 0)
            site.size += size
            site.count += 1
            blocks.append((address, size, site.id))
        self._setup(list(sites.values()), source, lambda: iter(blocks), traceback_limit)

    @classmethod
    def _create(cls, sites, source, blocks, traceback_limit, info=None, finder=None):
        """Internal constructor: sites, a frame source, a function returning
        an iterator of (address, size, site_id) blocks, and optionally a
        fast function address -> (start, size, site_id) or None."""
        snapshot = cls.__new__(cls)
        snapshot._setup(sites, source, blocks, traceback_limit, info)
        snapshot._finder = finder
        return snapshot

    def _setup(self, sites, source, blocks, traceback_limit, info=None):
        self._finder = None
        self._sites = sites
        self._source = source
        self._blocks = blocks
        self.traceback_limit = traceback_limit
        self.traces = _Traces(self)
        info = dict(info or {})
        # memsnap extras: what the reader saw.
        self.warnings = list(info.pop("warnings", ()))
        self.skipped = info.pop("skipped", 0)
        self.info = info

    # ---- per-site frames ----
    def _frames(self, site):
        """The site's frames, innermost first, resolved lazily."""
        source = self._source
        for ref in site.refs:
            yield from source.frames(ref)

    def _site_traceback(self, site):
        tb = site._traceback
        if tb is None:
            frames = tuple(self._frames(site))
            tb = site._traceback = Traceback._oldest_first(frames[::-1] or (UNKNOWN_FRAME,))
        return tb

    def _site_key_frame(self, site, raw=False):
        if raw:
            frame = site._raw_frame
            if frame is None:
                frame = site._raw_frame = pick_key_frame(self._frames(site), True) or UNKNOWN_FRAME
            return frame
        frame = site._key_frame
        if frame is None:
            frame = site._key_frame = pick_key_frame(self._frames(site), False) or UNKNOWN_FRAME
        return frame

    def resolve_key_frames(self):
        """Symbolize now what the default statistics need (each site's key
        frame), so that a kept snapshot still prints right after the process
        has moved on or exited. Raw innermost frames (--raw) and whole
        tracebacks are looked up when first asked for: resolving them here
        would load libc's and libstdc++'s debug info for every strdup- or
        vector-style stack, for statistics that charge the user's line."""
        for site in self._sites:
            self._site_key_frame(site, False)

    def key_frame(self, traceback, raw=False):
        """The key frame of a Traceback (memsnap extra): see keyframe.py."""
        return pick_key_frame(reversed(traceback._frames), raw) or UNKNOWN_FRAME

    # ---- grouping ----
    def _group_by(self, key_type, cumulative, raw=False):
        if key_type not in KEY_TYPES:
            raise InvalidArgumentError("unknown key_type: %r" % (key_type,))
        if cumulative and key_type == "traceback":
            raise InvalidArgumentError("cumulative mode cannot by used with key type %r" % key_type)
        stats = {}
        keys = {}
        derive = _DERIVE[key_type]

        def frame_key(frame):
            key = keys.get(frame)
            if key is None:
                key = keys[frame] = Traceback._oldest_first((frame,))
            return key

        def add(key, site):
            stat = stats.get(key)
            if stat is None:
                stats[key] = Statistic(key, site.size, site.count)
            else:
                stat.size += site.size
                stat.count += site.count

        for site in self._sites:
            if not cumulative:
                if key_type == "traceback":
                    add(self._site_traceback(site), site)
                else:
                    add(frame_key(derive(self._site_key_frame(site, raw))), site)
                continue
            seen = set()
            for frame in self._frames(site):
                frame = derive(frame)
                if frame not in seen:
                    seen.add(frame)
                    add(frame_key(frame), site)
        return stats

    def statistics(self, key_type, cumulative=False, raw=False):
        """Statistics grouped by key_type, biggest first (list of Statistic)."""
        statistics = list(self._group_by(key_type, cumulative, raw).values())
        # Statistic._sort_key's order, comparing tracebacks by their plain keys
        statistics.sort(reverse=True, key=lambda s: (s.size, s.count, s.traceback._key()))
        return statistics

    def compare_to(self, old_snapshot, key_type, cumulative=False, raw=False):
        """Differences from old_snapshot, biggest change first (StatisticDiff)."""
        new_group = self._group_by(key_type, cumulative, raw)
        old_group = old_snapshot._group_by(key_type, cumulative, raw)
        statistics = []
        for key, stat in new_group.items():
            previous = old_group.pop(key, None)
            if previous is None:
                statistics.append(StatisticDiff(key, stat.size, stat.size, stat.count, stat.count))
            else:
                statistics.append(StatisticDiff(key, stat.size, stat.size - previous.size,
                                                stat.count, stat.count - previous.count))
        for key, stat in old_group.items():
            statistics.append(StatisticDiff(key, 0, -stat.size, 0, -stat.count))
        statistics.sort(reverse=True, key=lambda s: (abs(s.size_diff), s.size, abs(s.count_diff),
                                                     s.count, s.traceback._key()))
        return statistics

    # ---- filtering ----
    def filter_traces(self, filters, raw=False):
        """A new Snapshot keeping the traces that pass `filters` (tracemalloc
        semantics; single-frame filters test the key frame)."""
        if not isinstance(filters, Iterable):
            raise TypeError("filters must be a list of filters, not %s" % type(filters).__name__)
        filters = list(filters)
        for item in filters:
            if not isinstance(item, BaseFilter):
                raise TypeError("filters must be Filter or DomainFilter, not %s" % type(item).__name__)
        include = [f for f in filters if f.inclusive]
        exclude = [f for f in filters if not f.inclusive]
        kept = []
        for site in self._sites:
            key_frame = lambda site=site: self._site_key_frame(site, raw)
            all_frames = lambda site=site: self._frames(site)
            if include and not any(f._match_site(site.domain, key_frame, all_frames) for f in include):
                continue
            if exclude and not all(f._match_site(site.domain, key_frame, all_frames) for f in exclude):
                continue
            kept.append(site)
        ids = {site.id for site in kept}
        parent_blocks = self._blocks
        if len(kept) == len(self._sites):
            blocks = parent_blocks
        else:
            def blocks():
                return (b for b in parent_blocks() if b[2] in ids)
        info = dict(self.info, warnings=self.warnings, skipped=self.skipped)
        return Snapshot._create(kept, self._source, blocks, self.traceback_limit, info, self._finder)

    # ---- per-block data ----
    def _build_traces(self):
        by_id = {site.id: site for site in self._sites}
        tracebacks = {}
        traces = []
        for address, size, site_id in self._blocks():
            site = by_id.get(site_id)
            if site is None:
                continue
            tb = tracebacks.get(site_id)
            if tb is None:
                base = self._site_traceback(site)
                tb = tracebacks[site_id] = Traceback._oldest_first(base._frames, site.total_nframe)
            traces.append(Trace((site.domain, size, tb, site.total_nframe, address)))
        return traces

    def iter_blocks(self):
        """(address, size, site) for every block of the snapshot (memsnap extra)."""
        by_id = {site.id: site for site in self._sites}
        for address, size, site_id in self._blocks():
            site = by_id.get(site_id)
            if site is not None:
                yield address, size, site

    def find_block(self, address):
        """(start, size, domain, Traceback) of the block containing address,
        or None (memsnap extra)."""
        best = None
        ids = {site.id for site in self._sites}
        if self._finder is not None:
            best = self._finder(address)
            if best is not None and best[2] not in ids:
                best = None
        if best is None:
            for start, size, site_id in self._blocks():
                if start is not None and start <= address < start + max(size, 1) and site_id in ids:
                    best = (start, size, site_id)
                    break
        if best is None:
            return None
        for site in self._sites:
            if site.id == best[2]:
                tb = self._site_traceback(site)
                return best[0], best[1], site.domain, Traceback._oldest_first(tb._frames, site.total_nframe)
        return None

    # ---- totals and files ----
    @property
    def total_size(self):
        return sum(site.size for site in self._sites)

    @property
    def total_count(self):
        return sum(site.count for site in self._sites)

    def domains(self):
        return sorted({site.domain for site in self._sites})

    def dump(self, filename):
        """Write the snapshot to a file (JSON, see snapshot_io.py)."""
        from . import snapshot_io
        snapshot_io.dump(self, filename)

    @staticmethod
    def load(filename):
        """Load a snapshot written by dump()."""
        from . import snapshot_io
        return snapshot_io.load(filename)

    def __repr__(self):
        return "<memsnap.Snapshot sites=%d size=%d count=%d traceback_limit=%s>" % (
            len(self._sites), self.total_size, self.total_count, self.traceback_limit)


def _same(frame):
    return frame


def _filename_frame(frame):
    return Frame((frame.filename, 0, None, None, frame.module, ""))


def _function_frame(frame):
    if frame.function:
        label = frame.function
    elif frame.label:
        label = frame.label
    else:
        label = "?"
    return Frame((frame.filename, 0, frame.function, None, frame.module, label))


_DERIVE = {"lineno": _same, "traceback": _same, "filename": _filename_frame,
           "function": _function_frame}
