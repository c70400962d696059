"""Snapshot: tracemalloc's Snapshot over memsnap's per-site data.

A snapshot is a list of Sites — (domain, stack, live size and count, totals
where known) — so grouping, filtering and comparing cost O(sites), not
O(blocks). A stack is a tuple of references resolved to Frames by a frame
source (sources.py); resolution is lazy and a site's key frame is found by
resolving only as deep as needed. The per-block data (address, size, site,
birth epoch) is kept as the table was read and turned into Trace objects
only when `traces` is used; filter_since() keeps the blocks born after an
earlier snapshot (age.py). Keys: 'lineno', 'filename', 'function' (memsnap's) and
'traceback'; cumulative for all but traceback.

One way in: Snapshot.from_sites(), used by the session, by loading a file
and by the leak engine (tracemalloc's own constructor, Snapshot(traces,
traceback_limit), builds its sites and goes the same way). Views read a
snapshot through its public accessors: sites(), info, traceback_limit,
iter_blocks(), find_block(), the statistics.
"""

from collections.abc import Iterable, Sequence
from itertools import chain

from ..errors import InvalidArgumentError
from ..table.blocks import contains
from ..target import sourcelines
from . import snapshot_file
from .age import start_epoch, younger_blocks
from .filters import BaseFilter
from .frames import Frame, TypeFrame, UNKNOWN_FRAME
from .info import SnapshotInfo
from .keyframe import key_frame_of, key_rule, pick_key_frame
from .sources import FrameList
from .tracebacks import Statistic, StatisticDiff, Trace, Traceback

KEY_TYPES = ("lineno", "filename", "function", "traceback")
# memsnap extra: group blocks by their inferred type (set_block_types).
TYPE_KEY = "type"
STATISTIC_KEYS = KEY_TYPES + (TYPE_KEY,)


class Site:
    """One (domain, stack) of a snapshot: the bytes and count of its live
    blocks and, where the table has them, of every block ever allocated
    there (total_size, total_count; None when unknown)."""

    __slots__ = ("id", "domain", "stack", "total_nframe", "size", "count", "total_size",
                 "total_count", "_source", "_traceback", "_key_frames")

    def __init__(self, site_id, domain, stack, total_nframe, size, count, total_size=None,
                 total_count=None):
        self.id = site_id
        self.domain = domain
        self.stack = stack                # frame source references, innermost first
        self.total_nframe = total_nframe
        self.size = size
        self.count = count
        self.total_size = total_size
        self.total_count = total_count
        self._source = None
        self._traceback = None
        self._key_frames = {}

    def frames(self):
        """The site's Frames, innermost first, resolved as they are iterated."""
        return chain.from_iterable(map(self._source.frames, self.stack))

    @property
    def traceback(self):
        """The site's Traceback, oldest frame first, with its total_nframe."""
        return Traceback._oldest_first(self._group_key()._frames, self.total_nframe)

    def key_frame(self, raw=False):
        """The frame statistics charge this site to (model/keyframe.py);
        `raw` is True/False or a KeyRule; kept per rule."""
        rule = key_rule(raw)
        frame = self._key_frames.get(rule)
        if frame is None:
            frame = self._key_frames[rule] = pick_key_frame(self.frames(), rule) or UNKNOWN_FRAME
        return frame

    def _group_key(self):
        """The Traceback grouping key 'traceback' (no total_nframe), kept."""
        if self._traceback is None:
            frames = tuple(self.frames())
            self._traceback = Traceback._oldest_first(frames[::-1] or (UNKNOWN_FRAME,))
        return self._traceback

    def __repr__(self):
        return "<Site id=%d domain=%d size=%d count=%d>" % (self.id, self.domain, self.size,
                                                           self.count)


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
        found = self._traces()[index]
        return tuple(found) if isinstance(index, slice) else found

    def __contains__(self, trace):
        return trace in self._traces()

    def __eq__(self, other):
        if not isinstance(other, _Traces):
            return NotImplemented
        return self._traces() == other._traces()

    def __repr__(self):
        return "<Traces len=%s>" % len(self)


def _no_blocks():
    return iter(())


class Snapshot:
    """Snapshot of the traced heap blocks of a C/C++ program."""

    def __init__(self, traces, traceback_limit):
        # tracemalloc's constructor: traces are (domain, size, frames,
        # total_nframe[, address]) with frames most recent first.
        source = FrameList()
        sites = {}
        blocks = []
        for trace in traces:
            trace = tuple(trace)
            domain, size, frames = trace[0], trace[1], trace[2]
            total = trace[3] if len(trace) > 3 else None
            address = trace[4] if len(trace) > 4 else None
            if isinstance(frames, Traceback):
                innermost_first = tuple(reversed(frames))
            else:
                innermost_first = tuple(f if isinstance(f, Frame) else Frame(f) for f in frames)
            stack = tuple(source.add((f,)) for f in innermost_first)
            key = (domain, stack, total)
            site = sites.get(key)
            if site is None:
                site = sites[key] = Site(len(sites) + 1, domain, stack, total, 0, 0)
            site.size += size
            site.count += 1
            blocks.append((address, size, site.id, None))
        self._setup(list(sites.values()), source, traceback_limit, SnapshotInfo(),
                    lambda: iter(blocks), None)

    @classmethod
    def from_sites(cls, sites, frame_source, traceback_limit, info=None, blocks=None,
                   finder=None):
        """A snapshot of `sites` (Site objects) whose stacks `frame_source`
        resolves (sources.py); `info` a SnapshotInfo; `blocks` a function
        returning an iterator of (address, size, site_id, birth) for every
        block, birth the allocation epoch or None (None: no per-block data); `finder` a fast function address ->
        (start, size, site_id) of the block holding it, or None."""
        snapshot = cls.__new__(cls)
        snapshot._setup(list(sites), frame_source, traceback_limit, info or SnapshotInfo(),
                        blocks or _no_blocks, finder)
        return snapshot

    def _setup(self, sites, source, traceback_limit, info, blocks, finder):
        for site in sites:
            site._source = source
        self._sites = sites
        self._source = source
        self._blocks = blocks
        self._finder = finder
        self.traceback_limit = traceback_limit
        self.info = info
        self.traces = _Traces(self)
        self._block_types = None

    # ---- public accessors (memsnap extras) ----
    def sites(self):
        """The snapshot's Sites (a tuple), in the order they were read."""
        return tuple(self._sites)

    @property
    def frame_source(self):
        """What the sites' stack references stand for (model/sources.py)."""
        return self._source

    @property
    def warnings(self):
        """What the reader could not read (a list of sentences)."""
        return list(self.info.warnings)

    @property
    def skipped(self):
        """Blocks left out because a thread was updating them."""
        return self.info.skipped

    def resolve_key_frames(self):
        """Symbolize now what the default statistics need (each site's key
        frame), so that a kept snapshot still prints right after the process
        has moved on or exited. Raw innermost frames (--raw) and whole
        tracebacks are looked up when first asked for: resolving them here
        would load libc's and libstdc++'s debug info for every strdup- or
        vector-style stack, for statistics that charge the user's line."""
        for site in self._sites:
            site.key_frame(False)

    def key_frame(self, traceback, raw=False):
        """The key frame of a Traceback (memsnap extra): see keyframe.py."""
        return key_frame_of(traceback, raw)

    def set_block_types(self, provider):
        """Make statistics("type") possible (memsnap extra): provider() gives,
        when first needed, an object whose name_at(address) is the type name
        of the block starting there, or None (leaks/block_types.py)."""
        self._block_types = provider

    def block_types(self):
        """The object set_block_types' provider gives; InvalidArgumentError
        when the snapshot has none."""
        if self._block_types is None and self.info is not None and self.info.peak:
            raise InvalidArgumentError(
                "statistics by type need the blocks, and the peak snapshot keeps only each "
                "site's live bytes and count")
        if self._block_types is None:
            raise InvalidArgumentError(
                "statistics by type need the stopped target the snapshot was taken from "
                "(types are inferred from its memory): take the snapshot in the debugger")
        return self._block_types()

    # ---- grouping ----
    def _group_by(self, key_type, cumulative, raw=False):
        if key_type == TYPE_KEY:
            return self._group_by_type(cumulative, raw)
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

        if not cumulative and key_type != "traceback":
            return self._group_by_key_frame(derive, raw)
        for site in self._sites:
            if not cumulative:
                add(site._group_key(), site)
                continue
            seen = set()
            for frame in site.frames():
                frame = derive(frame)
                if frame not in seen:
                    seen.add(frame)
                    add(frame_key(frame), site)
        return stats

    def _group_by_type(self, cumulative, raw):
        """{TypeFrame Traceback: Statistic} of the blocks by inferred type;
        untyped blocks by their allocation's key frame."""
        if cumulative:
            raise InvalidArgumentError("cumulative mode cannot by used with key type 'type'")
        names = self.block_types()
        stats = {}
        keys = {}
        for address, size, site in self.iter_blocks():
            name = names.name_at(address)
            key = name if name is not None else site
            traceback = keys.get(key)
            if traceback is None:
                frame = TypeFrame(name) if name is not None else \
                    TypeFrame("?", str(site.key_frame(raw)))
                traceback = keys[key] = Traceback._oldest_first((frame,))
            stat = stats.get(traceback)
            if stat is None:
                stats[traceback] = Statistic(traceback, size, 1)
            else:
                stat.size += size
                stat.count += 1
        return stats

    def statistic_key(self, site, key_type, raw=False):
        """The key (Traceback) under which statistics(key_type) without
        cumulative counts `site`'s blocks (memsnap extra)."""
        if key_type == "traceback":
            return site._group_key()
        if key_type not in KEY_TYPES:
            raise InvalidArgumentError("unknown key_type: %r" % (key_type,))
        return Traceback._oldest_first((_DERIVE[key_type](site.key_frame(raw)),))

    def _group_by_key_frame(self, derive, raw):
        """_group_by of the key frames (not cumulative, not traceback):
        sums by frame first, one Traceback and Statistic per group after
        (a snapshot may have a site per group: ten thousand of them)."""
        sums = {}
        for site in self._sites:
            frame = derive(site.key_frame(raw))
            total = sums.get(frame)
            if total is None:
                sums[frame] = [site.size, site.count]
            else:
                total[0] += site.size
                total[1] += site.count
        stats = {}
        for frame, (size, count) in sums.items():
            key = Traceback._oldest_first((frame,))
            stats[key] = Statistic(key, size, count)
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
            key_frame = lambda site=site: site.key_frame(raw)
            all_frames = site.frames
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
        snapshot = Snapshot.from_sites(kept, self._source, self.traceback_limit, self.info, blocks,
                                       self._finder)
        snapshot._block_types = self._block_types
        return snapshot

    def filter_since(self, old_snapshot):
        """A new Snapshot of the blocks allocated after `old_snapshot` was
        taken and still live in this one (memsnap extra; age.py)."""
        epoch = start_epoch(self, old_snapshot)
        kept, sums = younger_blocks(self.iter_blocks_with_births(), epoch, self.info.sample_bytes)
        sites = [Site(site.id, site.domain, site.stack, site.total_nframe, size, count)
                 for site, (size, count) in sums.items()]
        snapshot = Snapshot.from_sites(sites, self._source, self.traceback_limit, self.info,
                                       lambda: iter(kept))
        snapshot._block_types = self._block_types
        return snapshot

    # ---- per-block data ----
    def _build_traces(self):
        tracebacks = {}
        traces = []
        for address, size, site in self.iter_blocks():
            tb = tracebacks.get(site.id)
            if tb is None:
                tb = tracebacks[site.id] = site.traceback
            traces.append(Trace((site.domain, size, tb, site.total_nframe, address)))
        return traces

    def iter_blocks(self):
        """(address, size, Site) for every block of the snapshot (memsnap extra)."""
        for address, size, site, _ in self.iter_blocks_with_births():
            yield address, size, site

    def iter_blocks_with_births(self):
        """(address, size, Site, birth) for every block: birth is the
        allocation epoch it was born in, or None where unknown (memsnap extra)."""
        by_id = {site.id: site for site in self._sites}
        for address, size, site_id, birth in self._blocks():
            site = by_id.get(site_id)
            if site is not None:
                yield address, size, site, birth

    def find_block(self, address):
        """(start, size, domain, Traceback) of the block containing address,
        or None (memsnap extra)."""
        by_id = {site.id: site for site in self._sites}
        found = self._finder(address) if self._finder is not None else None
        if found is None or found[2] not in by_id:
            found = next(((start, size, site_id) for start, size, site_id, _ in self._blocks()
                          if start is not None and site_id in by_id
                          and contains(start, size, address)), None)
        if found is None:
            return None
        site = by_id[found[2]]
        return found[0], found[1], site.domain, site.traceback

    # ---- totals and files ----
    @property
    def total_size(self):
        return sum(site.size for site in self._sites)

    @property
    def total_count(self):
        return sum(site.count for site in self._sites)

    def domains(self):
        return sorted({site.domain for site in self._sites})

    def to_data(self):
        """The snapshot as JSON-ready data (version 1 of snapshot_file.py)."""
        return snapshot_file.encode_json(self)

    @classmethod
    def from_data(cls, data, filename="<data>"):
        """A snapshot from to_data()'s data; MemsnapError naming `filename` if it is not."""
        return cls._from_decoded(snapshot_file.decode(data, filename))

    @classmethod
    def _from_decoded(cls, decoded):
        frames = FrameList(decoded.entries)
        sourcelines.record(decoded.sources, frames.filenames())
        return cls.from_sites([Site(*fields) for fields in decoded.sites], frames,
                              decoded.traceback_limit,
                              SnapshotInfo.from_data(decoded.info, decoded.warnings, decoded.skipped),
                              decoded.blocks, decoded.blocks.finder())

    def dump(self, filename, replace=True):
        """Write the snapshot to a file (snapshot_file.py's compact format):
        mode 0600, atomically, never through a symbolic link; an existing
        file is replaced unless replace=False."""
        snapshot_file.write(self, filename, replace)

    @staticmethod
    def load(filename):
        """Load a snapshot written by dump() (or version 1's JSON)."""
        return Snapshot._from_decoded(snapshot_file.read(filename))

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
