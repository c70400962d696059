"""The options several commands share, and the rules about them, defined once.

memstat, memdiff and memleaks group statistics the same way (--key,
--cumulative, --limit, --raw, --alloc-fn, --json) and filter them the same way
(--include, --exclude, --domain); check_key() is the one refusal of a
cumulative traceback key, filters() the one way options become Filters,
and comma_choices() the one parser of comma-separated choice lists
(memleaks --show and --heuristics).
"""

import functools

from ..errors import UsageError
from ..model.filters import DomainFilter, Filter
from ..model.keyframe import KeyRule
from ..model.snapshot import STATISTIC_KEYS, TYPE_KEY
from .parser import Option

KEY = Option("--key", "-k", "str", default="lineno", metavar="KEY", choices=STATISTIC_KEYS,
             help="group by source line, file, function, whole traceback, or the blocks' "
                  "inferred type (memstat of the stopped target)")
CUMULATIVE = Option("--cumulative", "-c", help="count a block in every frame of its traceback")
LIMIT = Option("--limit", "-n", "int", default=10, minimum=0,
               help="show the top N statistics (0 = all; default 10)")
INCLUDE = Option("--include", "-i", "list", metavar="PATTERN",
                 help="keep blocks whose key frame's file matches (fnmatch; repeatable)")
EXCLUDE = Option("--exclude", "-x", "list", metavar="PATTERN",
                 help="drop blocks whose key frame's file matches (fnmatch; repeatable)")
DOMAIN = Option("--domain", "-d", "int", default=None, minimum=0,
                help="only blocks of this domain (0 = heap)")
RAW = Option("--raw", help="key frame = innermost frame, even in libc/libstdc++ or a wrapper")
ALLOC_FN = Option("--alloc-fn", None, "list", metavar="GLOB",
                  help="treat functions matching GLOB as allocator wrappers (repeatable)")
JSON = Option("--json", help="machine-readable output (JSON)")
PEAK = Option("--peak", help="the heap at the peak of traced memory instead of now "
                             "(each site's live bytes and count then)")
STAT_OPTIONS = (KEY, CUMULATIVE, LIMIT, INCLUDE, EXCLUDE, DOMAIN, RAW, ALLOC_FN, JSON)


def check_key(command, options):
    """Refuse --cumulative with --key traceback (tracemalloc refuses it too),
    and --key type but in memstat (types are inferred at the current stop)."""
    if options.cumulative and options.key in ("traceback", TYPE_KEY):
        raise UsageError("%s: --cumulative cannot be used with --key %s" % (command, options.key))
    if options.key == TYPE_KEY and command != "memstat":
        raise UsageError("%s: --key type is memstat's (blocks are typed at the current stop)"
                         % command)


def key_rule(options):
    """The key-frame rule of --raw and --alloc-fn (model/keyframe.py), one
    object per distinct pair so that its per-function answers are kept."""
    return _rule(options.raw, tuple(options.alloc_fn))


@functools.lru_cache(maxsize=32)
def _rule(raw, alloc_fns):
    return KeyRule(raw, alloc_fns)


def filters(options):
    """The Filters of --include, --exclude and --domain (if the command has it)."""
    chosen = [Filter(True, p) for p in options.include]
    chosen += [Filter(False, p) for p in options.exclude]
    if getattr(options, "domain", None) is not None:
        chosen.append(DomainFilter(True, options.domain))
    return chosen


def filtered(snapshot, options):
    """`snapshot` narrowed by the options' filters (itself without any)."""
    chosen = filters(options)
    return snapshot.filter_traces(chosen, raw=key_rule(options)) if chosen else snapshot


def top(stats, limit):
    """The first `limit` statistics (all for 0)."""
    return stats[:limit] if limit else stats


def comma_choices(command, option, noun, text, choices):
    """The words of a comma-separated list of `choices`, in the list's order
    of the choices, "all" for every one, "none" for none; a UsageError
    naming `command`, `option` and the unknown `noun` otherwise."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if words == ["all"]:
        return tuple(choices)
    if words == ["none"]:
        return ()
    for word in words:
        if word not in choices:
            raise UsageError("%s: unknown %s '%s' in %s (use %s, all or none)"
                             % (command, noun, word, option, ", ".join(choices)))
    return tuple(c for c in choices if c in words)
