"""`memgrowth A B C ...`: the keys whose size grew at every step across kept snapshots (model/growth.py)."""

from ..model.growth import growth
from . import data, text
from .cmd_memsnap import kept_names
from .options import (ALLOC_FN, CUMULATIVE, DOMAIN, EXCLUDE, INCLUDE, JSON, KEY, LIMIT, RAW,
                      check_key, filtered, key_rule, top)
from .parser import CommandSpec


def run(ctx, options):
    check_key("memgrowth", options)
    snapshots = [ctx.session.get(name) for name in options.args]
    rule = key_rule(options)
    found = top(growth([filtered(s, options) for s in snapshots], options.key,
                       options.cumulative, rule), options.limit)
    if options.json:
        return data.dumps({
            "snapshots": options.args,
            "key": options.key,
            "cumulative": options.cumulative,
            "growth": [dict(data.stat_data(g, options.key, rule), sizes=g.sizes, counts=g.counts,
                            rate=g.rate) for g in found],
            "warnings": text.snapshot_notes(*snapshots),
        })
    lines = text.stat_lines(found, options.key, rule)
    if not lines:
        lines = ["no key grew at every step of %s" % ", ".join(options.args)]
    return "\n".join(lines + text.snapshot_notes(*snapshots))


SPEC = CommandSpec(
    "memgrowth", "List the keys whose size grew at every step across kept snapshots (leak suspects).",
    "memgrowth A B [C ...] [options]", run,
    (KEY, CUMULATIVE, LIMIT, INCLUDE, EXCLUDE, DOMAIN, RAW, ALLOC_FN, JSON),
    min_args=2, max_args=None, arg_completer=kept_names,
    description="Snapshots are taken in order with 'memsnap NAME'. A key is listed when its\n"
                "size grew from each snapshot to the next; the fastest growth per step first.")
