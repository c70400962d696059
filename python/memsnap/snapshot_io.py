"""Snapshot files: JSON, never pickle, so loading a file runs no code.

A file holds the format name and version, the traceback limit, the reader's
notes, a table of stack entries (each: the return address if any and its
resolved frames, innermost first), the sites (domain, stack as entry
indexes, size, count) and the blocks as three base64 arrays of
little-endian integers (addresses, sizes, site ids). Every stack entry is
symbolized when the file is written, so a loaded snapshot needs no target.
"""

import base64
import json
import sys
from array import array

from .errors import MemsnapError
from .frames import Frame
from .snapshot import Site, Snapshot
from .symbolize import FrameListSource

FORMAT = "memsnap-snapshot"
VERSION = 1


def _pack(typecode, values):
    data = array(typecode, values)
    if sys.byteorder != "little":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def _unpack(typecode, text):
    data = array(typecode)
    data.frombytes(base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder != "little":
        data.byteswap()
    return data


def to_data(snapshot):
    entries = []
    index = {}
    sites = []
    source = snapshot._source
    for site in snapshot._sites:
        stack = []
        for ref in site.refs:
            key = ref
            position = index.get(key)
            if position is None:
                position = index[key] = len(entries)
                frames = source.frames(ref)
                entries.append({
                    "pc": ref if isinstance(ref, int) and not isinstance(source, FrameListSource) else None,
                    "frames": [list(f.as_tuple()) for f in frames],
                })
            stack.append(position)
        sites.append({"id": site.id, "domain": site.domain, "stack": stack,
                      "total_nframe": site.total_nframe, "size": site.size, "count": site.count})
    addresses, sizes, ids = array("Q"), array("Q"), array("I")
    kept_ids = {site.id for site in snapshot._sites}
    for address, size, site_id in snapshot._blocks():
        if site_id in kept_ids:
            addresses.append(address or 0)
            sizes.append(size)
            ids.append(site_id)
    info = {k: v for k, v in snapshot.info.items() if isinstance(v, (int, float, str, bool, type(None)))}
    return {
        "format": FORMAT,
        "version": VERSION,
        "traceback_limit": snapshot.traceback_limit,
        "warnings": list(snapshot.warnings),
        "skipped": snapshot.skipped,
        "info": info,
        "entries": entries,
        "sites": sites,
        "blocks": {"address": _pack("Q", addresses), "size": _pack("Q", sizes),
                   "site": _pack("I", ids)},
    }


def dump(snapshot, filename):
    data = to_data(snapshot)
    try:
        with open(filename, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
    except OSError as err:
        raise MemsnapError("cannot write %s: %s" % (filename, err.strerror or err))


def _bad(filename, what):
    return MemsnapError("%s is not a memsnap snapshot file: %s" % (filename, what))


def from_data(data, filename="<data>"):
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(filename, "no '%s' format marker" % FORMAT)
    if data.get("version") != VERSION:
        raise _bad(filename, "version %r (this memsnap reads %d)" % (data.get("version"), VERSION))
    try:
        entries = []
        for entry in data["entries"]:
            frames = []
            for f in entry["frames"]:
                if len(f) != 6 or not isinstance(f[0], str) or not isinstance(f[1], int):
                    raise ValueError("bad frame %r" % (f,))
                frames.append(Frame(tuple(f)))
            entries.append(tuple(frames))
        source = FrameListSource(entries)
        sites = []
        for s in data["sites"]:
            stack = tuple(int(i) for i in s["stack"])
            if any(not 0 <= i < len(entries) for i in stack):
                raise ValueError("site %r refers to a missing stack entry" % s.get("id"))
            sites.append(Site(int(s["id"]), int(s["domain"]), stack, s.get("total_nframe"),
                              int(s["size"]), int(s["count"])))
        blocks = data["blocks"]
        addresses = _unpack("Q", blocks["address"])
        sizes = _unpack("Q", blocks["size"])
        ids = _unpack("I", blocks["site"])
        if not len(addresses) == len(sizes) == len(ids):
            raise ValueError("block arrays of different lengths")
        triples = [(a or None, s, i) for a, s, i in zip(addresses, sizes, ids)]
        info = dict(data.get("info") or {})
        info["warnings"] = list(data.get("warnings") or [])
        info["skipped"] = int(data.get("skipped") or 0)
        return Snapshot._create(sites, source, lambda: iter(triples),
                                data.get("traceback_limit"), info)
    except (KeyError, TypeError, ValueError) as err:
        raise _bad(filename, "%s" % (err,))


def load(filename):
    try:
        with open(filename, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as err:
        raise MemsnapError("cannot read %s: %s" % (filename, err.strerror or err))
    except ValueError as err:
        raise _bad(filename, "invalid JSON (%s)" % err)
    return from_data(data, filename)
