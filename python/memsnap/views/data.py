"""JSON views: statistics, frames and snapshots as plain dicts and lists ready for json.dumps.

Sizes stay in bytes; every entry also carries the text the text view
prints (text.py), so a script can show what the user would have seen.
"""

import json

from ..model.frames import UNKNOWN_FRAME
from ..model.keyframe import key_frame_of
from ..model.tracebacks import StatisticDiff
from .text import where


def dumps(data):
    return json.dumps(data, indent=2)


def frame_data(frame):
    return {
        "filename": frame.filename,
        "lineno": frame.lineno,
        "function": frame.function,
        "address": frame.address,
        "module": frame.module,
        "label": frame.label or None,
        "text": str(frame),
    }


def stat_data(stat, key_type, raw=False):
    key = stat.traceback[-1] if len(stat.traceback) else UNKNOWN_FRAME
    if key_type == "traceback":
        key = key_frame_of(stat.traceback, raw)
    data = {
        "where": where(stat, key_type, raw),
        "filename": key.filename,
        "lineno": key.lineno,
        "function": key.function,
        "module": key.module,
        "size": stat.size,
        "count": stat.count,
        "average": (stat.size / stat.count) if stat.count else None,
        "text": stat.format_line(where(stat, key_type, raw)),
    }
    if isinstance(stat, StatisticDiff):
        data["size_diff"] = stat.size_diff
        data["count_diff"] = stat.count_diff
    if key_type == "traceback":
        data["traceback"] = [frame_data(f) for f in stat.traceback]
    return data


def snapshot_data(name, snapshot):
    info = snapshot.info
    return {
        "name": name,
        "size": snapshot.total_size,
        "count": snapshot.total_count,
        "sites": len(snapshot.sites()),
        "traceback_limit": snapshot.traceback_limit,
        "skipped": snapshot.skipped,
        "warnings": list(snapshot.warnings),
        "tracing": info.tracing,
        "truncated": info.truncated,
        "peak": bool(info.peak),
        "time": info.time,
    }
