"""pprof export: a Profile as a gzip-compressed profile.proto.

The file opens in `go tool pprof` and in anything that reads pprof's format.
Its four sample types are Go heap profiles' names, so pprof's heap options
(-inuse_space, -alloc_objects, ...) apply: alloc_objects and alloc_space
(blocks and bytes ever allocated at the site), inuse_objects and
inuse_space (live now, the default). Every traceback is whole (leaf first,
as pprof wants); each return address is a Location whose lines list its
inlined frames innermost first; frames without line information keep their
module and address, so pprof's -addresses view still tells call sites
apart. A sample of a domain other than 0 (the heap) has the numeric label
"domain". Mappings carry the
build IDs, and say that functions, files, lines and inlining are already
resolved, so pprof does not try to symbolize again. With a base profile the
file holds the difference (new minus base, per stack): negative values are
memory that was freed, alloc_* count what was allocated in between. The
schema comes from python/memsnap/views/export/pprof_schema.py; the input from
python/memsnap/views/export/samples.py.
"""

import bisect
import gzip

from . import pprof_schema
from .samples import ALLOC_BYTES, ALLOC_COUNT, INUSE_BYTES, INUSE_COUNT, paired

# pprof's sample types, in the file's order, and where each value is in
# StackSample.values.
SAMPLE_TYPES = (("alloc_objects", "count", ALLOC_COUNT), ("alloc_space", "bytes", ALLOC_BYTES),
                ("inuse_objects", "count", INUSE_COUNT), ("inuse_space", "bytes", INUSE_BYTES))
DEFAULT_SAMPLE_TYPE = "inuse_space"

_classes = None


def _messages():
    global _classes
    if _classes is None:
        _classes = pprof_schema.build_classes()
    return _classes


def export_pprof(profile, base=None):
    """The gzip-compressed profile.proto bytes of `profile` (minus `base`)."""
    builder = _Builder(_messages()["Profile"](), profile.mappings)
    builder.header(profile, base)
    for row in paired(profile, base):
        values = tuple(new - old for new, old in zip(row.new, row.old))
        if any(values):
            builder.sample(row.stack, row.domain, values)
    return gzip.compress(builder.message.SerializeToString(), mtime=0)


class _Builder:
    """Fills a Profile message, interning strings, functions and locations."""

    def __init__(self, message, mappings):
        self.message = message
        self._strings = {}
        self._functions = {}
        self._locations = {}
        self.string("")
        self._mappings = sorted(mappings, key=lambda m: m.start)
        self._mapping_starts = [m.start for m in self._mappings]
        self._mapping_ids = {}
        for mapping in mappings:          # file order = the input's (main program first)
            self._mapping_ids[mapping] = self._add_mapping(mapping)

    def string(self, text):
        index = self._strings.get(text)
        if index is None:
            index = self._strings[text] = len(self.message.string_table)
            self.message.string_table.append(text)
        return index

    def header(self, profile, base):
        message = self.message
        for name, unit, _ in SAMPLE_TYPES:
            message.sample_type.add(type=self.string(name), unit=self.string(unit))
        message.default_sample_type = self.string(DEFAULT_SAMPLE_TYPE)
        message.period_type.type = self.string("space")
        message.period_type.unit = self.string("bytes")
        message.period = 1
        if profile.time is not None:
            message.time_nanos = int(profile.time * 1e9)
        title = profile.title if base is None else "%s minus %s" % (profile.title, base.title)
        notes = [title] + list(profile.comments) + list(base.comments if base else ())
        message.comment.extend(self.string(note) for note in notes)

    def _add_mapping(self, mapping):
        entry = self.message.mapping.add(
            id=len(self.message.mapping) + 1, memory_start=mapping.start,
            memory_limit=mapping.limit, file_offset=mapping.offset,
            filename=self.string(mapping.path), build_id=self.string(mapping.build_id or ""),
            has_functions=True, has_filenames=True, has_line_numbers=True,
            has_inline_frames=True)
        return entry.id

    def _mapping_id(self, address):
        if address is None:
            return 0
        index = bisect.bisect_right(self._mapping_starts, address) - 1
        if index >= 0 and address < self._mappings[index].limit:
            return self._mapping_ids[self._mappings[index]]
        return 0

    def _function_id(self, frame):
        name = frame.function or str(frame)
        # without line information the module stands for the source file
        filename = (frame.module or frame.filename) if frame.label else frame.filename
        key = (name, filename)
        function_id = self._functions.get(key)
        if function_id is None:
            function_id = self._functions[key] = len(self._functions) + 1
            self.message.function.add(id=function_id, name=self.string(name),
                                      system_name=self.string(name),
                                      filename=self.string(filename))
        return function_id

    def _location_id(self, location):
        location_id = self._locations.get(location)
        if location_id is None:
            location_id = self._locations[location] = len(self._locations) + 1
            entry = self.message.location.add(id=location_id,
                                              mapping_id=self._mapping_id(location.address),
                                              address=location.address or 0)
            for frame in reversed(location.frames):      # innermost first
                entry.line.add(function_id=self._function_id(frame), line=frame.lineno)
        return location_id

    def sample(self, stack, domain, values):
        entry = self.message.sample.add()
        entry.location_id.extend(self._location_id(loc) for loc in reversed(stack))
        entry.value.extend(values[index] for _, _, index in SAMPLE_TYPES)
        if domain:
            entry.label.add(key=self.string("domain"), num=domain)
