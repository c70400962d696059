"""Text views: statistics and snapshots as tracemalloc's text.

One Statistic/StatisticDiff line each, exactly tracemalloc's; with key
'traceback' the line names the statistic's key frame (model/keyframe.py)
and is followed by Traceback.format() (oldest frame first, as the
tutorial's with_trace.py prints). Plus the one-line summaries and warning
notes the commands print.
"""

from ..model.format import counted, format_size, sampled_note, skipped_note
from ..model.keyframe import key_frame_of


def where(stat, key_type, raw=False):
    """The text before ': size=' for a statistic."""
    if key_type == "traceback":
        return str(key_frame_of(stat.traceback, raw))
    return str(stat.traceback)


def stat_lines(stats, key_type, raw=False):
    lines = []
    for stat in stats:
        lines.append(stat.format_line(where(stat, key_type, raw)))
        if key_type == "traceback":
            lines.extend(stat.traceback.format())
    return lines


def statistics_text(stats, key_type, raw, notes):
    """The lines of shown statistics ("no traced blocks" for none), then `notes`."""
    lines = stat_lines(stats, key_type, raw) or ["no traced blocks"]
    return "\n".join(lines + notes)


def type_conflict_notes(snapshot):
    """A note per allocation site of `snapshot` whose blocks were typed
    differently (Snapshot.statistics("type"))."""
    conflicts = snapshot.block_types().conflicts
    notes = []
    for site in snapshot.sites():
        names = conflicts.get(site.id)
        if names:
            typed = ", ".join("%s (%s)" % (name, counted(count, "block"))
                              for name, count in names.most_common())
            notes.append("note: blocks allocated at %s have different types: %s"
                         % (site.key_frame(False), typed))
    return notes


def snapshot_notes(*snapshots):
    """Warning lines about what a snapshot could not show (deduplicated)."""
    notes = []
    for snapshot in snapshots:
        if snapshot is None:
            continue
        for warning in snapshot.warnings:
            notes.append("warning: " + warning)
        if snapshot.skipped:
            notes.append("warning: " + skipped_note(snapshot.skipped))
        if snapshot.info.peak:
            notes.append("note: " + peak_note(snapshot))
        if snapshot.info.sample_bytes:
            notes.append("note: " + sampled_note(snapshot.info.sample_bytes))
        if snapshot.info.truncated:
            notes.append("warning: the runtime ran out of memory: traces are incomplete")
        elif snapshot.info.tracing is False:
            notes.append("warning: " + not_tracing_note(snapshot.traceback_limit))
    return without_repeats(notes)


def peak_note(snapshot):
    """What a snapshot of the peak shows, and how close to the exact peak:
    exact while the runtime folded current and peak without drift (one
    thread), else within the snapshot's peak_bound (docs/production.md)."""
    info = snapshot.info
    peak = "peak=%s" % format_size(info.peak_bytes or 0)
    if not info.peak_bound:
        return "the heap at the peak of traced memory (%s)" % peak
    return ("the heap near the peak of traced memory (%s; with several threads it may miss up "
            "to %s of the exact peak: docs/production.md)" % (peak, format_size(info.peak_bound)))


def not_tracing_note(traceback_limit):
    """Why the runtime is not tracing, from what its root says: a limit of
    0 means tracing never started (the runtime sets it when it starts)."""
    if not traceback_limit:
        return ("tracing is off and never started: MEMSNAP=0 or a bad MEMSNAP value, a program "
                "linked with the runtime without MEMSNAP set, or stopped before start-up "
                "(memtrace start N starts it in a live process)")
    return ("tracing is off: it was stopped (memtrace stop or memsnap_stop(), which also "
            "cleared the traces); memtrace start resumes it")


def without_repeats(lines):
    """`lines` in order, each only the first time it occurs."""
    return list(dict.fromkeys(lines))


def snapshot_summary(name, snapshot):
    text = "%s%s: size=%s, count=%i, sites=%d" % (
        name, " (peak)" if snapshot.info.peak else "", format_size(snapshot.total_size),
        snapshot.total_count, len(snapshot.sites()))
    if snapshot.skipped:
        text += ", skipped=%d" % snapshot.skipped
    return text
