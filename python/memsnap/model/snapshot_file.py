"""Snapshot files: a compact binary format (version 3); versions 2 and 1 (JSON) are still read.

Never pickle: loading a file runs no code. A version 3 file is MAGIC, then
a header (format version, block count, the metadata's length), then zlib
streams, each after its compressed length and item width: the metadata as
JSON (traceback limit, info, reader notes, the table of stack entries —
each a return address if any and its resolved frames, innermost first —,
the sites, the source line of every frame, read when the file was
written, and whether the blocks' births follow), then the blocks as
arrays of little-endian unsigned integers, sorted by address: address
deltas, sizes, site ids and, when known, births (the allocation epoch of
each block: model/age.py), each in the narrowest width that holds it.
Version 2 is the same without births; version 1 (JSON, to_data()'s form)
is the metadata with the blocks as base64 arrays. Every field of either is
checked (snapshot_checks.py) and every length is bounded before anything
is built: a bad file gives one line naming it and what is wrong. Blocks
stay in arrays (about 20 bytes a block) and become tuples only when
iterated; sorted addresses give a bisecting block finder.
"""

import base64
import json
import struct
import sys
import zlib
from array import array
from bisect import bisect_right
from itertools import accumulate, repeat
from typing import NamedTuple, Optional

from ..errors import MemsnapError
from ..table.blocks import contains
from ..target import sourcelines
from ..user_files import read_user_file, write_user_file
from .snapshot_checks import Invalid, check_meta

FORMAT = "memsnap-snapshot"
VERSION = 3
BINARY_VERSIONS = (2, 3)
JSON_VERSION = 1
MAGIC = b"memsnap snapshot\n"
HEADER = struct.Struct("<IQQ")          # version, block count, metadata length
STREAM = struct.Struct("<QB")           # compressed length, item width
MAX_FILE = 16 << 30                     # bytes read from one file
MAX_BLOCKS = 1 << 32
MAX_META = 1 << 31
_TYPECODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


class Blocks(NamedTuple):
    """A file's blocks: addresses (0: unknown), sizes, site ids, births
    (None: unknown), as arrays."""
    addresses: array
    sizes: array
    sites: array
    sorted: bool
    births: Optional[array] = None

    def __call__(self):
        births = self.births if self.births is not None else repeat(None)
        return ((a or None, s, i, b)
                for a, s, i, b in zip(self.addresses, self.sizes, self.sites, births))

    def finder(self):
        """address -> (start, size, site id) of the block holding it, or None."""
        if not self.sorted:
            return None

        def find(address):
            index = bisect_right(self.addresses, address) - 1
            if index >= 0 and self.addresses[index] and \
                    contains(self.addresses[index], self.sizes[index], address):
                return self.addresses[index], self.sizes[index], self.sites[index]
            return None
        return find


class Decoded(NamedTuple):
    """A file's content as the model builds a Snapshot from it."""
    entries: list            # tuples of Frames, innermost first
    sites: list              # (id, domain, stack, total_nframe, size, count, total_size, total_count)
    blocks: Blocks
    traceback_limit: int
    info: dict
    warnings: list
    skipped: int
    sources: dict            # {filename: {lineno: text}} as the file recorded them


# ---- writing ----
def meta_data(snapshot, with_sources):
    """The metadata of a snapshot (read through its public accessors):
    version 1's data without the blocks."""
    entries, index, sites = [], {}, []
    frames = snapshot.frame_source
    for site in snapshot.sites():
        stack = []
        for ref in site.stack:
            if ref not in index:
                index[ref] = len(entries)
                entries.append({"pc": ref if frames.addresses else None,
                                "frames": [list(f.as_tuple()) for f in frames.frames(ref)]})
            stack.append(index[ref])
        sites.append(_site_data(site, stack))
    info = snapshot.info
    data = {"format": FORMAT, "traceback_limit": snapshot.traceback_limit,
            "warnings": list(info.warnings), "skipped": info.skipped, "info": info.to_data(),
            "entries": entries, "sites": sites}
    if with_sources:
        data["sources"] = _sources(entries)
    return data


def _site_data(site, stack):
    data = {"id": site.id, "domain": site.domain, "stack": stack,
            "total_nframe": site.total_nframe, "size": site.size, "count": site.count}
    if site.total_size is not None:
        data["total_size"], data["total_count"] = site.total_size, site.total_count
    return data


def _sources(entries):
    """{filename: {lineno: text}} of every frame with a line, as shown now."""
    found = {}
    for entry in entries:
        for filename, lineno, *_ in entry["frames"]:
            if filename and lineno > 0:
                lines = found.setdefault(filename, {})
                if str(lineno) not in lines:
                    text = sourcelines.get_line(filename, lineno)
                    if text is not None:
                        lines[str(lineno)] = text
    return found


def encode_json(snapshot):
    """Version 1's JSON-ready data (Snapshot.to_data)."""
    data = meta_data(snapshot, with_sources=False)
    data["version"] = JSON_VERSION
    blocks = {"address": array("Q"), "size": array("Q"), "site": array("I")}
    for address, size, site in snapshot.iter_blocks():
        blocks["address"].append(address or 0)
        blocks["size"].append(size)
        blocks["site"].append(site.id)
    data["blocks"] = {name: _base64(values) for name, values in blocks.items()}
    return data


def write(snapshot, filename, replace):
    """Write `snapshot` to `filename` in version 3 (user_files.py's policy)."""
    rows = sorted((address or 0, size, site.id, birth)
                  for address, size, site, birth in snapshot.iter_blocks_with_births())
    with_births = all(row[3] is not None for row in rows)
    data = meta_data(snapshot, with_sources=True)
    data["births"] = with_births
    meta = json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")
    addresses = [row[0] for row in rows]
    deltas = [b - a for a, b in zip([0] + addresses, addresses)]
    columns = [deltas, [row[1] for row in rows], [row[2] for row in rows]]
    if with_births:
        columns.append([row[3] for row in rows])
    del rows, addresses

    def fill(handle):
        handle.write(MAGIC + HEADER.pack(VERSION, len(columns[0]), len(meta)))
        _write_stream(handle, meta, 1)
        for column in columns:
            width = _width(column)
            _write_stream(handle, _little(array(_TYPECODES[width], column)).tobytes(), width)
    write_user_file(filename, fill, replace=replace)


def _width(values):
    top = max(values, default=0)
    return next(w for w in (1, 2, 4, 8) if top < 1 << (8 * w))


def _write_stream(handle, data, width):
    packed = zlib.compress(data, 6)
    handle.write(STREAM.pack(len(packed), width))
    handle.write(packed)


# ---- reading ----
def read(filename):
    """The Decoded content of the snapshot file `filename`."""
    data = read_user_file(filename, MAX_FILE)
    try:
        if data.startswith(MAGIC):
            return _decode_binary(memoryview(data), filename)
        if data.lstrip()[:1] == b"{":
            return decode(_parse_json(data), filename)
        raise Invalid("neither a memsnap snapshot nor version 1's JSON (it starts %s)"
                      % _shown_bytes(data[:16]))
    except Invalid as err:
        raise _bad(filename, str(err))


def decode(data, filename="<data>"):
    """The Decoded content of version 1's data (Snapshot.from_data)."""
    try:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Invalid("no '%s' format marker" % FORMAT)
        if data.get("version") != JSON_VERSION:
            raise Invalid("version %s (this memsnap reads %d, %d and %d)"
                          % ((_shown(data.get("version")), JSON_VERSION) + BINARY_VERSIONS))
        blocks = data.get("blocks")
        if not isinstance(blocks, dict):
            raise Invalid("'blocks' is missing")
        columns = [_from_base64(blocks.get(name), name, code)
                   for name, code in (("address", "Q"), ("size", "Q"), ("site", "I"))]
        if not len(columns[0]) == len(columns[1]) == len(columns[2]):
            raise Invalid("block arrays of different lengths")
        return _decoded(data, Blocks(*columns, sorted=False))
    except Invalid as err:
        raise _bad(filename, str(err))


def _decode_binary(view, filename):
    position = len(MAGIC)
    version, count, meta_size = _unpack(HEADER, view, position, "header")
    position += HEADER.size
    if version not in BINARY_VERSIONS:
        raise Invalid("version %d (this memsnap reads %d, %d and %d)"
                      % ((version, JSON_VERSION) + BINARY_VERSIONS))
    if count > MAX_BLOCKS or meta_size > MAX_META:
        raise Invalid("the header claims %d blocks and %d bytes of metadata" % (count, meta_size))
    meta, position = _read_stream(view, position, meta_size, "metadata", exact_width=1)
    data = _parse_json(meta)
    del meta
    names = ["address", "size", "site"]
    if version >= 3 and data.get("births") is True:
        names.append("birth")
    columns = []
    for name in names:
        raw, position, width = _read_column(view, position, count, name)
        columns.append(array(_TYPECODES[width], raw))
        _little(columns[-1])
    if position != len(view):
        raise Invalid("%d bytes after the last block array" % (len(view) - position))
    if columns[2].itemsize > 4 or (len(columns) > 3 and columns[3].itemsize > 4):
        raise Invalid("site ids or births wider than 32 bits")
    try:
        addresses = array("Q", accumulate(columns[0]))
    except OverflowError:
        raise Invalid("block addresses beyond 64 bits")
    births = columns[3] if len(columns) > 3 else None
    return _decoded(data, Blocks(addresses, columns[1], columns[2], sorted=True, births=births))


def _read_column(view, position, count, name):
    width = _unpack(STREAM, view, position, "the %s array" % name)[1]
    if width not in _TYPECODES:
        raise Invalid("the %s array has items of %d bytes" % (name, width))
    raw, position = _read_stream(view, position, count * width, "the %s array" % name)
    return raw, position, width


def _read_stream(view, position, size, what, exact_width=None):
    """(the `size` bytes a zlib stream at `position` holds, the position after it)."""
    length, width = _unpack(STREAM, view, position, what)
    if exact_width is not None and width != exact_width:
        raise Invalid("%s has items of %d bytes" % (what, width))
    start = position + STREAM.size
    if length > len(view) - start:
        raise Invalid("%s is cut short (the file is truncated)" % what)
    engine = zlib.decompressobj()
    try:
        data = engine.decompress(view[start:start + length], size + 1)
    except zlib.error as err:
        raise Invalid("%s is corrupt (%s)" % (what, err))
    if len(data) != size or not engine.eof or engine.unconsumed_tail:
        raise Invalid("%s holds other than the %d bytes the header says" % (what, size))
    return data, start + length


def _unpack(layout, view, position, what):
    if position + layout.size > len(view):
        raise Invalid("%s is cut short (the file is truncated)" % what)
    return layout.unpack_from(view, position)


def _parse_json(data):
    def constant(name):
        raise Invalid("the number %s in the JSON" % name)
    try:
        return json.loads(bytes(data).decode("utf-8"), parse_constant=constant)
    except RecursionError:
        raise Invalid("JSON nested too deeply")
    except (UnicodeDecodeError, ValueError) as err:
        raise Invalid("invalid JSON (%s)" % err)


def _decoded(data, blocks):
    meta = check_meta(data)
    known = {site[0] for site in meta.sites}
    unknown = set(blocks.sites) - known
    if unknown:
        raise Invalid("blocks refer to site %d, which the file does not have" % min(unknown))
    return Decoded(meta.entries, meta.sites, blocks, meta.traceback_limit, meta.info,
                   meta.warnings, meta.skipped, meta.sources)


def _bad(filename, what):
    return MemsnapError("%s is not a memsnap snapshot file: %s" % (filename, what))


def _shown(value):
    return repr(value)[:40]


def _shown_bytes(data):
    return repr(bytes(data))


def _little(values):
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _base64(values):
    return base64.b64encode(_little(values).tobytes()).decode("ascii")


def _from_base64(text, name, typecode):
    if not isinstance(text, str):
        raise Invalid("block array '%s' is missing" % name)
    values = array(typecode)
    try:
        values.frombytes(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, UnicodeEncodeError) as err:
        raise Invalid("block array '%s' is not base64 of %d-byte integers (%s)"
                      % (name, values.itemsize, err))
    return _little(values)
