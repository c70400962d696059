"""Snapshot files: JSON, never pickle, so loading a file runs no code.

A file holds the format name and version, the traceback limit, the
snapshot's info (model/info.py) and reader notes, a table of stack entries
(each: the return address if any and its resolved frames, innermost
first), the sites (id, domain, stack as entry indexes, total_nframe, live
size and count, and the totals where known) and the blocks as three base64
arrays of little-endian integers (addresses, sizes, site ids). Every stack
entry is symbolized when the file is written, so a loaded snapshot needs no
target. encode() and decode() turn the model's parts into that data and
back; Snapshot.to_data/from_data (snapshot.py) assemble them.
"""

import base64
import json
import sys
from array import array
from typing import NamedTuple

from ..errors import MemsnapError
from .frames import Frame

FORMAT = "memsnap-snapshot"
VERSION = 1


class Decoded(NamedTuple):
    """A file's content as the model builds a Snapshot from it."""
    entries: list            # tuples of Frames, innermost first
    sites: list              # (id, domain, stack, total_nframe, size, count, total_size, total_count)
    blocks: list             # (address or None, size, site id)
    traceback_limit: object
    info: dict
    warnings: list
    skipped: int


def encode(snapshot):
    """The file's data for a Snapshot (read through its public accessors)."""
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
    blocks = {"address": array("Q"), "size": array("Q"), "site": array("I")}
    for address, size, site in snapshot.iter_blocks():
        blocks["address"].append(address or 0)
        blocks["size"].append(size)
        blocks["site"].append(site.id)
    info = snapshot.info
    return {"format": FORMAT, "version": VERSION, "traceback_limit": snapshot.traceback_limit,
            "warnings": list(info.warnings), "skipped": info.skipped, "info": info.to_data(),
            "entries": entries, "sites": sites,
            "blocks": {name: _pack(values) for name, values in blocks.items()}}


def _site_data(site, stack):
    data = {"id": site.id, "domain": site.domain, "stack": stack,
            "total_nframe": site.total_nframe, "size": site.size, "count": site.count}
    if site.total_size is not None:
        data["total_size"], data["total_count"] = site.total_size, site.total_count
    return data


def decode(data, filename="<data>"):
    """The Decoded content of a file's data; MemsnapError if it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(filename, "no '%s' format marker" % FORMAT)
    if data.get("version") != VERSION:
        raise _bad(filename, "version %r (this memsnap reads %d)" % (data.get("version"), VERSION))
    try:
        entries = [tuple(_frame(f) for f in entry["frames"]) for entry in data["entries"]]
        sites = [_site(s, len(entries)) for s in data["sites"]]
        blocks = data["blocks"]
        addresses, sizes, ids = (_unpack(blocks["address"], "Q"), _unpack(blocks["size"], "Q"),
                                 _unpack(blocks["site"], "I"))
        if not len(addresses) == len(sizes) == len(ids):
            raise ValueError("block arrays of different lengths")
        return Decoded(entries, sites, [(a or None, s, i) for a, s, i in zip(addresses, sizes, ids)],
                       data.get("traceback_limit"), dict(data.get("info") or {}),
                       list(data.get("warnings") or []), int(data.get("skipped") or 0))
    except (KeyError, TypeError, ValueError) as err:
        raise _bad(filename, "%s" % (err,))


def _frame(f):
    if len(f) != 6 or not isinstance(f[0], str) or not isinstance(f[1], int):
        raise ValueError("bad frame %r" % (f,))
    return Frame(tuple(f))


def _site(s, nentries):
    stack = tuple(int(i) for i in s["stack"])
    if any(not 0 <= i < nentries for i in stack):
        raise ValueError("site %r refers to a missing stack entry" % s.get("id"))
    total_size, total_count = s.get("total_size"), s.get("total_count")
    return (int(s["id"]), int(s["domain"]), stack, s.get("total_nframe"), int(s["size"]),
            int(s["count"]), None if total_size is None else int(total_size),
            None if total_count is None else int(total_count))


def write(data, filename):
    try:
        with open(filename, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
    except OSError as err:
        raise MemsnapError("cannot write %s: %s" % (filename, err.strerror or err))


def read(filename):
    try:
        with open(filename, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as err:
        raise MemsnapError("cannot read %s: %s" % (filename, err.strerror or err))
    except ValueError as err:
        raise _bad(filename, "invalid JSON (%s)" % err)


def _bad(filename, what):
    return MemsnapError("%s is not a memsnap snapshot file: %s" % (filename, what))


def _pack(values):
    if sys.byteorder != "little":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unpack(text, typecode):
    data = array(typecode)
    data.frombytes(base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder != "little":
        data.byteswap()
    return data
