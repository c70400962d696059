"""Views: statistics and blocks as tracemalloc's text or as JSON data.

Text is exactly tracemalloc's: one Statistic/StatisticDiff line each; with
key 'traceback' the line names the statistic's key frame (see keyframe.py)
and is followed by Traceback.format() (oldest frame first, as the tutorial's
with_trace.py prints). JSON views are plain dicts and lists ready for
json.dumps; sizes stay in bytes.
"""

from .format import format_size
from .frames import UNKNOWN_FRAME
from .keyframe import pick_key_frame
from .model import StatisticDiff


def where(stat, key_type, raw=False):
    """The text before ': size=' for a statistic."""
    if key_type == "traceback":
        frame = pick_key_frame(reversed(stat.traceback._frames), raw) or UNKNOWN_FRAME
        return str(frame)
    return str(stat.traceback)


def stat_lines(stats, key_type, raw=False):
    lines = []
    for stat in stats:
        lines.append(stat._format(where(stat, key_type, raw)))
        if key_type == "traceback":
            lines.extend(stat.traceback.format())
    return lines


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
        key = pick_key_frame(reversed(stat.traceback._frames), raw) or UNKNOWN_FRAME
    data = {
        "where": where(stat, key_type, raw),
        "filename": key.filename,
        "lineno": key.lineno,
        "function": key.function,
        "module": key.module,
        "size": stat.size,
        "count": stat.count,
        "average": (stat.size / stat.count) if stat.count else None,
        "text": stat._format(where(stat, key_type, raw)),
    }
    if isinstance(stat, StatisticDiff):
        data["size_diff"] = stat.size_diff
        data["count_diff"] = stat.count_diff
    if key_type == "traceback":
        data["traceback"] = [frame_data(f) for f in stat.traceback]
    return data


def snapshot_notes(*snapshots):
    """Warning lines about what a snapshot could not show (deduplicated)."""
    notes = []
    for snapshot in snapshots:
        if snapshot is None:
            continue
        for warning in snapshot.warnings:
            notes.append("warning: " + warning)
        if snapshot.skipped:
            notes.append("warning: %s skipped (a thread was updating the table)"
                         % counted(snapshot.skipped, "in-flight block"))
        if snapshot.info.get("truncated"):
            notes.append("warning: the runtime ran out of memory: traces are incomplete")
    return without_repeats(notes)


def without_repeats(lines):
    """`lines` in order, each only the first time it occurs."""
    return list(dict.fromkeys(lines))


def counted(n, noun):
    """'1 block', '2 blocks': a count with its noun, plural when n != 1."""
    return "%d %s%s" % (n, noun, "" if n == 1 else "s")


def snapshot_summary(name, snapshot):
    text = "%s: size=%s, count=%i, sites=%d" % (
        name, format_size(snapshot.total_size), snapshot.total_count, len(snapshot._sites))
    if snapshot.skipped:
        text += ", skipped=%d" % snapshot.skipped
    return text


def snapshot_data(name, snapshot):
    info = snapshot.info
    return {
        "name": name,
        "size": snapshot.total_size,
        "count": snapshot.total_count,
        "sites": len(snapshot._sites),
        "traceback_limit": snapshot.traceback_limit,
        "skipped": snapshot.skipped,
        "warnings": list(snapshot.warnings),
        "tracing": info.get("tracing"),
        "truncated": info.get("truncated"),
        "time": info.get("time"),
    }
