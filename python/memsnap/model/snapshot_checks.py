"""What a snapshot file's metadata must be, checked field by field before anything is built.

snapshot_file.py parses a file; check_meta() takes the parsed JSON and
returns the parts the model builds a Snapshot from, or raises Invalid
saying which field is wrong and why ("site 3: size must be an integer
0..2**64-1, not -5"). Integers are real integers in their range (no
floats, no booleans, nothing past 64 bits), strings are strings of a
bounded length, lists are lists, every stack entry a site names exists, no
site id is used twice. Unknown keys are ignored (a later version may add
some). Pure Python: no debugger.
"""

import math
from typing import NamedTuple

from ..errors import MemsnapError
from .frames import Frame

U32, U64 = 1 << 32, 1 << 64
MAX_TEXT = 1 << 16                  # characters of one string
MAX_TRACEBACK_LIMIT = 1 << 16
MAX_WARNINGS = 10000

# SnapshotInfo's fields (model/info.py) and what each may hold.
_INFO_FIELDS = {"live": "bool", "pid": "int", "time": "time", "tracing": "bool",
                "truncated": "bool", "current_bytes": "int", "peak_bytes": "int",
                "runtime_bytes": "int", "untraced": "int", "unwinder": "text", "layout": "text",
                "epoch": "int", "sample_bytes": "int", "peak": "bool", "peak_bound": "int"}


class Invalid(MemsnapError):
    """What is wrong with a snapshot file, in words (without the file name)."""


class Meta(NamedTuple):
    entries: list
    sites: list
    traceback_limit: int
    info: dict
    warnings: list
    skipped: int
    sources: dict


def check_meta(data):
    """The checked parts of a file's metadata (see the module doc)."""
    if not isinstance(data, dict):
        raise Invalid("the metadata is not a JSON object")
    entries = [_entry(e, i) for i, e in enumerate(_list(data.get("entries"), "entries"))]
    sites, seen = [], set()
    for index, site in enumerate(_list(data.get("sites"), "sites")):
        checked = _site(site, index, len(entries))
        if checked[0] in seen:
            raise Invalid("site id %d is used twice" % checked[0])
        seen.add(checked[0])
        sites.append(checked)
    warnings = [_text(w, "warning %d" % i)
                for i, w in enumerate(_list(data.get("warnings", []), "warnings"))]
    if len(warnings) > MAX_WARNINGS:
        raise Invalid("%d warnings (at most %d)" % (len(warnings), MAX_WARNINGS))
    return Meta(entries, sites,
                integer(data.get("traceback_limit"), "traceback_limit", 0, MAX_TRACEBACK_LIMIT),
                _info(data.get("info", {})), warnings,
                integer(data.get("skipped", 0), "skipped", 0, U64),
                _sources(data.get("sources", {})))


def integer(value, what, low=0, high=U64):
    """`value` if it is an int in [low, high), else Invalid naming `what`."""
    if type(value) is not int or not low <= value < high:
        raise Invalid("%s must be an integer %d..%s, not %s"
                      % (what, low, _bound(high - 1), _shown(value)))
    return value


def _bound(value):
    for power in (64, 32, 16):
        if value == (1 << power) - 1:
            return "2**%d-1" % power
    return str(value)


def _optional_integer(value, what, low=0, high=U64):
    return None if value is None else integer(value, what, low, high)


def _text(value, what, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise Invalid("%s must be a string of at most %d characters, not %s"
                      % (what, MAX_TEXT, _shown(value)))
    return value


def _list(value, what):
    if not isinstance(value, list):
        raise Invalid("'%s' must be a list, not %s" % (what, _shown(value)))
    return value


def _shown(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _entry(entry, index):
    what = "stack entry %d" % index
    if not isinstance(entry, dict):
        raise Invalid("%s is not an object" % what)
    _optional_integer(entry.get("pc"), what + ": pc")
    frames = _list(entry.get("frames"), what + ": frames")
    return tuple(_frame(f, "%s, frame %d" % (what, i)) for i, f in enumerate(frames))


def _frame(frame, what):
    if not isinstance(frame, list) or len(frame) != 6:
        raise Invalid("%s must be [filename, lineno, function, address, module, label], "
                      "not %s" % (what, _shown(frame)))
    filename, lineno, function, address, module, label = frame
    return Frame((_text(filename, what + ": filename"),
                  integer(lineno, what + ": lineno", 0, U32),
                  _text(function, what + ": function", optional=True),
                  _optional_integer(address, what + ": address"),
                  _text(module, what + ": module", optional=True),
                  _text(label, what + ": label")))


def _site(site, index, nentries):
    if not isinstance(site, dict):
        raise Invalid("site %d is not an object" % index)
    what = "site %s" % (site.get("id") if type(site.get("id")) is int else "#%d" % index)
    stack = tuple(integer(i, what + ": stack entry", 0, nentries)
                  for i in _list(site.get("stack"), what + ": stack"))
    total_size, total_count = site.get("total_size"), site.get("total_count")
    if (total_size is None) != (total_count is None):
        raise Invalid("%s: total_size and total_count must be given together" % what)
    return (integer(site.get("id"), what + ": id", 0, U32),
            integer(site.get("domain"), what + ": domain", 0, U32),
            stack,
            _optional_integer(site.get("total_nframe"), what + ": total_nframe", 0, U32),
            integer(site.get("size"), what + ": size"),
            integer(site.get("count"), what + ": count"),
            _optional_integer(total_size, what + ": total_size"),
            _optional_integer(total_count, what + ": total_count"))


def _info(info):
    if not isinstance(info, dict):
        raise Invalid("'info' must be an object, not %s" % _shown(info))
    checked = {}
    for name, kind in _INFO_FIELDS.items():
        value = info.get(name)
        if value is None:
            continue
        what = "info: " + name
        if kind == "bool" and not isinstance(value, bool):
            raise Invalid("%s must be true or false, not %s" % (what, _shown(value)))
        if kind == "int":
            integer(value, what)
        if kind == "text":
            _text(value, what)
        if kind == "time" and (type(value) not in (int, float) or not math.isfinite(value)
                               or not 0 <= value < 1e11):
            raise Invalid("%s must be a time in seconds since 1970, not %s" % (what, _shown(value)))
        checked[name] = value
    return checked


def _sources(sources):
    """{filename: {lineno: text}} from the file's "sources" object."""
    if not isinstance(sources, dict):
        raise Invalid("'sources' must be an object, not %s" % _shown(sources))
    found = {}
    for filename, lines in sources.items():
        if not isinstance(lines, dict):
            raise Invalid("sources of %s must be an object" % _shown(filename))
        found[filename] = {}
        for lineno, text in lines.items():
            if not lineno.isdigit() or not 0 < len(lineno) < 11:
                raise Invalid("sources of %s: %s is not a line number"
                              % (_shown(filename), _shown(lineno)))
            found[filename][int(lineno)] = _text(text, "sources of %s" % _shown(filename))
    return found
