"""Folded stacks: one line per distinct stack, frames joined by ';'.

`outer;middle;inner BYTES` (oldest frame first, live bytes) is the input of
flame graph tools (flamegraph.pl, inferno, speedscope's importer, our own
python/memsnap/views/export/flamegraph.py). With a base profile each line has two
numbers, `stack OLD NEW`, the differential input those tools read. Frames
are named by samples.frame_name; a ';' or a line break inside a name would
break the format and becomes ',' or a space. Stacks that print the same are
merged; lines are sorted by stack. Stacks with no live bytes are left out
(or, with a base, stacks with none on either side).
"""

from .samples import INUSE_BYTES, paired, stack_names

_SAFE = str.maketrans({";": ",", "\n": " ", "\r": " "})


def folded_stack(stack):
    """The folded spelling of a stack of Locations."""
    return ";".join(name.translate(_SAFE) for name in stack_names(stack))


def folded_totals(profile, base=None):
    """{folded stack: (old bytes, new bytes)}; old is 0 without a base."""
    totals = {}
    for row in paired(profile, base):
        key = folded_stack(row.stack)
        old, new = totals.get(key, (0, 0))
        totals[key] = (old + row.old[INUSE_BYTES], new + row.new[INUSE_BYTES])
    return totals


def export_folded(profile, base=None):
    lines = []
    for stack, (old, new) in sorted(folded_totals(profile, base).items()):
        if base is None and new:
            lines.append("%s %d" % (stack, new))
        elif base is not None and (old or new):
            lines.append("%s %d %d" % (stack, old, new))
    return "".join(line + "\n" for line in lines)
