"""Export inputs for the exporters' tests: two samples.Profiles shaped like
the seed program waste_memory (python/memsnap/views/export/samples.py), a "before"
and an "after", with what real snapshots hold — frames without line
information (the program's _start, libc's start-up code and strdup, an
address in no module), an inlined call, a custom-allocator domain, stacks
that only one of the two snapshots has, and the loaded objects' mappings
with build IDs. Values differ everywhere so that a number in the wrong
place shows. Helpers compute the expected per-function totals directly
from the samples."""

from memsnap.model.frames import Frame
from memsnap.views.export.samples import Location, Mapping, Profile, StackSample

PROGRAM = "/work/tests/waste_memory"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
SOURCE = "/src/waste_memory.c"
MAPPINGS = (Mapping(0x555555554000, 0x555555559000, 0, PROGRAM, "4f1d2c3b5a69788796a5b4c3d2e1f00112233445"),
            Mapping(0x7ffff7dac000, 0x7ffff7f01000, 0x26000, LIBC, "a5c2d1e0f9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4"))


def line_frame(function, lineno, address, filename=SOURCE, module=PROGRAM):
    return Frame((filename, lineno, function, address, module, ""))


def bare_frame(module, function, offset, address):
    """A frame without line info, labelled as the symbolizer labels it."""
    name = module.rsplit("/", 1)[-1] if module else "??"
    label = "%s+0x%x" % (function, offset) if function else "0x%x" % address
    return Frame((name, 0, function, address, module, label))


def location(*frames):
    """A Location from Frames given caller first (several = inlined)."""
    return Location(frames[0].address, tuple(frames))


START = location(bare_frame(PROGRAM, "_start", 0x21, 0x555555555061))
LIBC_MAIN = location(bare_frame(LIBC, "__libc_start_call_main", 0x7a, 0x7ffff7dd318a))
MAIN = location(line_frame("main", 60, 0x555555555300))
RUN = location(line_frame("run", 48, 0x555555555280))
GET_DATA = location(line_frame("get_data", 41, 0x555555555230))
# init_buffer inlined into MyObject_new at line 30: one address, two frames
NEW_OBJECT = location(line_frame("MyObject_new", 30, 0x555555555190),
                      line_frame("init_buffer", 22, 0x555555555190))
NEW_OBJECT_28 = location(line_frame("MyObject_new", 28, 0x555555555170))
STRDUP = location(bare_frame(LIBC, "strdup", 0x1a, 0x7ffff7e2a8aa))
NOWHERE = location(bare_frame(None, None, 0, 0x1234))
POOL_ALLOC = location(line_frame("pool_alloc", 12, 0x555555555400, filename="/src/pool.c"))

ROOT = (START, LIBC_MAIN, MAIN)


def sample(stack, inuse_count, inuse_bytes, alloc_count, alloc_bytes, domain=0):
    return StackSample(tuple(stack), domain, inuse_count, inuse_bytes, alloc_count, alloc_bytes)


def after():
    return Profile("after", (
        sample(ROOT + (RUN, GET_DATA, NEW_OBJECT), 10000, 1000000, 10400, 1040000),
        sample(ROOT + (RUN, GET_DATA, NEW_OBJECT_28), 10000, 480000, 10001, 480048),
        sample(ROOT + (RUN, STRDUP), 100, 80000, 130, 104000),
        sample(ROOT + (NOWHERE,), 3, 333, 5, 555),
        sample(ROOT + (POOL_ALLOC,), 7, 7000, 9, 9000, domain=1),
    ), MAPPINGS, 1700000000.5, ("warning: 2 in-flight blocks skipped",))


def before():
    return Profile("before", (
        sample(ROOT + (RUN, GET_DATA, NEW_OBJECT), 4000, 400000, 4100, 410000),
        sample(ROOT + (RUN, GET_DATA, NEW_OBJECT_28), 12000, 576000, 12000, 576000),
        sample(ROOT + (RUN, STRDUP), 100, 80000, 100, 80000),
        sample(ROOT + (START,), 2, 64000, 2, 64000),      # only in before: vanished
    ), MAPPINGS, 1699999990.0)


def function_name(frame):
    """The function name pprof shows for a frame."""
    return frame.function or str(frame)


def expected_top(samples, index):
    """{function: (flat, cum)} of value `index` (samples.VALUE_NAMES),
    computed from the stacks as pprof's -top defines them: flat at the
    innermost frame, cum once per stack for every function in it; functions
    with nothing are not listed."""
    flat, cum = {}, {}
    for item in samples:
        value = item.values[index]
        frames = [f for loc in item.stack for f in loc.frames]
        leaf = function_name(frames[-1])
        flat[leaf] = flat.get(leaf, 0) + value
        for name in {function_name(f) for f in frames}:
            cum[name] = cum.get(name, 0) + value
    rows = {name: (flat.get(name, 0), total) for name, total in cum.items()}
    return {name: row for name, row in rows.items() if row != (0, 0)}   # pprof omits those


def difference(new, old):
    """The samples of new minus old, matched by (domain, stack)."""
    totals = {}
    for sign, profile in ((1, new), (-1, old)):
        for item in profile.samples:
            key = (item.domain, item.stack)
            values = totals.get(key, (0, 0, 0, 0))
            totals[key] = tuple(a + sign * b for a, b in zip(values, item.values))
    return [StackSample(stack, domain, *values) for (domain, stack), values in totals.items()]
