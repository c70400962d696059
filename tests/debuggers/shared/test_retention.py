"""Retention paths (`memwhere ADDR --path`, memsnap.retention_path) by name, in GDB and LLDB, live and on a core.

retain_paths stops in retain_checkpoint() with a global hash table of
lists (g_cache), a connection kept by a local of each worker thread, a
thread-local list in each thread (t_recent), a block reached only through
a void * (g_opaque) and a lost block; the
addresses asked about are in g_hidden[], xor-ed so no scan takes them for
pointers. Every path must be the exact chain of names, the same in both
debuggers: g_cache->buckets[17]->next->payload through typed members, the
worker's local `conn` (thread 3, in worker()'s frame) then ->scratch, the
second worker's and the main thread's thread-local t_recent, the
fallback `g_opaque+0x18` with the untyped block's allocation line, and no
path for the lost block. The Python API gives the same steps as data, and
`memleaks --paths` the path of each still reachable group's largest block.
The README's path (waste_memory's x[3][7]->data) is checked as printed there.
"""

import json
import os
import re

import debuggers as d

PROGRAM = "tests/debuggers/programs/retain_paths"
SOURCE = os.path.join(d.SOURCE_ROOT, PROGRAM + ".c")
HIDE = 0xa5a5a5a5a5a5a5a5
LOST, PAYLOAD, BEHIND, CONN1, SCRATCH1, RECENT_PAYLOAD1, MAIN_RECENT = range(7)


# Python in the debugger: the hidden addresses, read from g_hidden without
# an expression (LLDB keeps expression results in memory it maps in the
# process, where a scan finds them), and a memwhere of each.
PROLOGUE = """
import json, struct, memsnap
from memsnap.views import commands
backend = memsnap.get_backend()
words = struct.unpack('<7Q', backend.read_memory(backend.lookup_symbol('g_hidden'), 56))
hidden = [word ^ %d for word in words]
""" % HIDE


def memwhere(index, options="--path"):
    return d.python("print(commands.run('memwhere', '0x%%x %s' %% hidden[%d], backend))"
                    % (options, index))


def line_of(text, source=SOURCE):
    """The line number of the only line of `source` containing `text`."""
    with open(source) as f:
        found = [n for n, line in enumerate(f, 1) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


def normalized(output):
    """Addresses as 0xA, allocation paths as the file's name; the path's lines only."""
    found = re.search(r"^(no )?retention path", output, re.M)
    output = output[found.start() if found else 0:]
    output = re.sub(r"allocated at \S*/retain_paths\.c:", "allocated at retain_paths.c:", output)
    return re.sub(r"0x[0-9a-f]{6,}", "0xA", output).strip().splitlines()


TABLE = line_of("g_cache = calloc(1, sizeof *g_cache);")
ENTRY = line_of("struct entry *e = calloc(1, sizeof *e);")
PAYLOAD_LINE = line_of("struct payload *p = calloc(1, sizeof *p);")
CONN = line_of("struct conn *conn = calloc(1, sizeof *conn);")
OPAQUE = line_of("char *opaque = calloc(1, 40);")
BEHIND_LINE = line_of("void *behind = malloc(56);")
OLDER = line_of("struct entry *older = calloc(1, sizeof *older);")
OLDER_PAYLOAD = line_of("older->payload = calloc(1, sizeof *older->payload);")
RECENT = line_of("t_recent = calloc(1, sizeof *t_recent);")
MAIN_RECENT_LINE = line_of("t_recent = calloc(1, sizeof(struct entry));")

TABLE_PATH = [
    "retention path (still reachable, 4 pointers from a root): g_cache->buckets[17]->next->payload",
    "  global g_cache (struct table *) -> 0xA: struct table, 264 B, allocated at retain_paths.c:%d"
    % TABLE,
    "  ->buckets[17] (struct entry *) -> 0xA: struct entry, 24 B, allocated at retain_paths.c:%d"
    % ENTRY,
    "  ->next (struct entry *) -> 0xA: struct entry, 24 B, allocated at retain_paths.c:%d" % ENTRY,
    "  ->payload (struct payload *) -> 0xA: struct payload, 24 B, allocated at retain_paths.c:%d"
    % PAYLOAD_LINE,
]
VOID_PATH = [
    "retention path (still reachable, 2 pointers from a root): g_opaque+0x18",
    "  global g_opaque (void *) -> 0xA: ?, 40 B, allocated at retain_paths.c:%d" % OPAQUE,
    "  +0x18 -> 0xA: ?, 56 B, allocated at retain_paths.c:%d" % BEHIND_LINE,
]
LOST_PATH = ["no retention path: the block is definitely lost: nothing reachable points to it"]
THREAD_ROOT = re.compile(r"^  thread (\d+), frame #(\d+) worker\(\): conn \(struct conn \*\) -> "
                         r"0xA: struct conn, 16 B, allocated at retain_paths.c:%d$" % CONN)
SCRATCH_STEP = ("  ->scratch (struct payload *) -> 0xA: struct payload, 24 B, "
                "allocated at retain_paths.c:%d" % PAYLOAD_LINE)

RECENT_PATH = [
    "retention path (still reachable, 3 pointers from a root): t_recent->next->payload",
    "  thread T, thread-local t_recent (struct entry *) -> 0xA: struct entry, 24 B, "
    "allocated at retain_paths.c:%d" % RECENT,
    "  ->next (struct entry *) -> 0xA: struct entry, 24 B, allocated at retain_paths.c:%d" % OLDER,
    "  ->payload (struct payload *) -> 0xA: struct payload, 24 B, allocated at retain_paths.c:%d"
    % OLDER_PAYLOAD,
]
MAIN_RECENT_PATH = [
    "retention path (still reachable, 1 pointer from a root): t_recent",
    "  thread T, thread-local t_recent (struct entry *) -> 0xA: struct entry, 24 B, "
    "allocated at retain_paths.c:%d" % MAIN_RECENT_LINE,
]

API = "print(json.dumps(memsnap.retention_path(hidden[%d]).to_data()))" % SCRATCH1

COMMANDS = [d.python(PROLOGUE), memwhere(PAYLOAD), memwhere(SCRATCH1), memwhere(BEHIND),
            memwhere(LOST), d.python(API), memwhere(PAYLOAD, "--path --json"),
            d.command("memleaks --paths --show reachable"), memwhere(RECENT_PAYLOAD1),
            memwhere(MAIN_RECENT)]

# memleaks --paths: each still reachable group's largest block (the first
# of equal ones) and its path, by group.
GROUP_PATHS = {TABLE: "g_cache", ENTRY: "g_cache->buckets[17]->next",
               PAYLOAD_LINE: "g_cache->buckets[17]->next->payload", OPAQUE: "g_opaque",
               BEHIND_LINE: "g_opaque+0x18", CONN: "thread T, frame #F worker(): conn",
               RECENT: "thread T, thread-local t_recent",
               OLDER: "thread T, thread-local t_recent->next",
               OLDER_PAYLOAD: "thread T, thread-local t_recent->next->payload",
               MAIN_RECENT_LINE: "thread T, thread-local t_recent"}


def group_paths(output):
    """{group's line: its path} from memleaks --paths' still reachable part
    (thread numbers as T: they differ on cores)."""
    part = output[output.index("still reachable:\n"):]
    groups = re.findall(r"^\S*retain_paths\.c:(\d+): size=", part, re.M)
    paths = re.findall(r"^  (\d+)\. 0x[0-9a-f]+ \([^)]*\): (.*)$", part, re.M)
    assert [int(rank) for rank, _ in paths] == list(range(1, len(groups) + 1)), part
    return {int(line): re.sub(r"^thread \d+", "thread T", re.sub(r"frame #\d+", "frame #F", path))
            for line, (_, path) in zip(groups, paths)}


def thread_of(lines):
    """The thread number of a path's root line, lines with it as T."""
    found = re.match(r"^  thread (\d+), ", lines[1])
    assert found, lines
    return int(found.group(1)), lines[:1] + ["  thread T, " + lines[1][found.end():]] + lines[2:]


def check_paths(results, live):
    for result in results:
        assert result["ok"], result["error"]
    results = results[1:]
    assert normalized(results[0]["output"]) == TABLE_PATH
    scratch = normalized(results[1]["output"])
    assert scratch[0] == ("retention path (still reachable, 2 pointers from a root): "
                          "conn->scratch"), scratch
    root = THREAD_ROOT.match(scratch[1])
    assert root, scratch
    if live:
        assert root.group(1) == "3", scratch     # the second worker, created third
    assert scratch[2:] == [SCRATCH_STEP]
    assert normalized(results[2]["output"]) == VOID_PATH
    assert normalized(results[3]["output"]) == LOST_PATH
    data = json.loads(results[4]["output"])
    assert data["expression"] == "conn->scratch"
    assert data["category"] == "still reachable"
    local, field = data["steps"]
    assert (local["kind"], local["text"], local["function"], local["type"]) == \
        ("local", "conn", "worker", "struct conn *")
    assert (local["thread"], local["frame"]) == (int(root.group(1)), int(root.group(2)))
    assert (field["kind"], field["text"], field["type"]) == \
        ("field", "->scratch", "struct payload *")
    assert field["block"]["type"] == "struct payload" and field["block"]["size"] == 24
    assert field["address"] == local["block"]["start"] + 8     # conn->scratch's own address
    assert field["value"] == field["block"]["start"] == data["block"]["start"]
    table = json.loads(results[5]["output"])["path"]
    assert [s["text"] for s in table["steps"]] == \
        ["g_cache", "->buckets[17]", "->next", "->payload"]
    assert [s["kind"] for s in table["steps"]] == ["global", "field", "field", "field"]
    assert group_paths(results[6]["output"]) == GROUP_PATHS
    thread, recent = thread_of(normalized(results[7]["output"]))
    assert recent == RECENT_PATH
    main_thread, main_recent = thread_of(normalized(results[8]["output"]))
    assert main_recent == MAIN_RECENT_PATH
    if live:
        assert (thread, main_thread) == (3, 1)


def test_paths_live_and_on_a_core(session, program, runtime, tmp_path):
    core = str(tmp_path / "retain_paths.core")
    start = [d.load(program(PROGRAM)), d.breakpoint("retain_checkpoint"), d.run()]
    live = session(start + COMMANDS + [d.gcore(core)])
    check_paths(live[len(start):-1], live=True)
    assert live[-1]["ok"], live[-1]["error"]
    check_paths(session([d.open_core(program(PROGRAM), core)] + COMMANDS)[1:], live=False)


WASTE = "tests/programs/waste_memory"
WASTE_SOURCE = os.path.join(d.SOURCE_ROOT, WASTE + ".c")
WASTE_LINES = [line_of("/* %s line */" % name, WASTE_SOURCE)
               for name in ("deep", "array", "object", "data")]
README_PATH = [
    "retention path (still reachable, 4 pointers from a root): x[3][7]->data",
    "  thread 1, frame #1 main(): x (struct MyObject ***) -> 0xA: struct MyObject **, 800 B, "
    "allocated at waste_memory.c:%d" % WASTE_LINES[0],
    "  [3] (struct MyObject **) -> 0xA: struct MyObject *, 800 B, allocated at waste_memory.c:%d"
    % WASTE_LINES[1],
    "  [7] (struct MyObject *) -> 0xA: struct MyObject, 48 B, allocated at waste_memory.c:%d"
    % WASTE_LINES[2],
    "  ->data (unsigned char *) -> 0xA: unsigned char, 100 B, allocated at waste_memory.c:%d"
    % WASTE_LINES[3],
]


def test_readme_path(session, program, runtime):
    """The README's path, on waste_memory after run(), one frame up in main."""
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("up"), d.command("memwhere x[3][7]->data --path")])
    assert results[5]["ok"], results[5]["error"]
    output = re.sub(r"allocated at \S*/waste_memory\.c:", "allocated at waste_memory.c:",
                    results[5]["output"])
    assert normalized(output) == README_PATH
