"""Human-readable sizes, exactly as tracemalloc prints them, counts in words, and shared notes.

A size is shown with at most 4-5 significant digits: bytes up to 10239 B,
then KiB, MiB, GiB, TiB; below 100 of a unit one decimal is kept
("10.0 KiB", "82.8 KiB"), from 100 none ("100 KiB", "977 KiB"). With
sign=True a "+" or "-" is always shown ("+0 B", "-977 KiB").
"""

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_size(size, sign=False):
    value = size
    last = len(_UNITS) - 1
    for index, unit in enumerate(_UNITS):
        magnitude = abs(value)
        if index > 0 and magnitude < 100:
            return ("%+.1f %s" if sign else "%.1f %s") % (value, unit)
        if magnitude < 10 * 1024 or index == last:
            return ("%+.0f %s" if sign else "%.0f %s") % (value, unit)
        value = value / 1024
    raise AssertionError("unreachable")


def counted(n, noun):
    """'1 block', '2 blocks': a count with its noun, plural when n != 1."""
    return "%d %s%s" % (n, noun, "" if n == 1 else "s")


def skipped_note(n):
    """The one sentence for blocks left out because they were being changed
    when the process stopped (whichever thread it was, one or many)."""
    return "%s skipped (a thread was updating the table)" % counted(n, "in-flight block")


def sampling_mode(sample_bytes):
    """How a table samples (MEMSNAP_SAMPLE or memtrace start --sample), in words."""
    if not sample_bytes:
        return "none, every block is traced"
    return "one block per %s allocated on average" % format_size(sample_bytes)


def sampled_note(sample_bytes):
    """The one sentence that marks a sampled table's figures as estimates
    (docs/runtime.md)."""
    return "sampled table, %s: sizes and counts are estimates" % sampling_mode(sample_bytes)
