"""Every user error gives one clear line and leaves the debugger working.

No process; runtime not loaded; an unsupported layout major version and a
corrupt table (written into the live process's root); a truncated core;
an unknown snapshot; bad addresses; a bad option. After each failing
command the session goes on: the next step (a Python print) still runs.
"""

import os
import struct

import debuggers as d
from cores import kernel_core

WASTE = "tests/programs/waste_memory"
ALIVE = d.python("print('alive')")

# Offsets in the fixed header / root of include/memsnap/layout.h.
ROOT_MAJOR = 8
ROOT_FIELDS = 16
ROOT_THREADS = 80
ROOT_COUNTERS_PER_PAGE = 116


def check_error(results, index, *words):
    """results[index] failed with one line mentioning one of `words`, and the
    debugger ran the step after it."""
    result = results[index]
    assert not result["ok"], "expected an error, got:\n" + result["output"]
    message = result["error"].strip()
    assert message and "\n" not in message, repr(message)
    assert "Traceback" not in message and "Error occurred in Python" not in message
    assert any(w.lower() in message.lower() for w in words), message
    after = results[index + 1]
    assert after["ok"] and after["output"] == "alive\n", after
    return message


def test_no_process(session):
    results = session([d.command("memstat"), ALIVE, d.command("memsnap"), ALIVE,
                       d.command("memtrace"), ALIVE])
    for index in (0, 2, 4):
        check_error(results, index, "no process")


def test_runtime_not_loaded(session, program):
    results = session([d.load(program(WASTE), preload=False), d.breakpoint("checkpoint"),
                       d.run(), d.command("memsnap"), ALIVE,
                       d.command("memstat"), ALIVE])
    message = check_error(results, 3, "libmemsnap")
    assert "LD_PRELOAD" in message or "memsnap-gdb" in message, message
    check_error(results, 5, "libmemsnap")


def test_unsupported_layout_version(session, program, runtime):
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(),
                       d.write_memory("memsnap_root", ROOT_MAJOR, struct.pack("<H", 99)),
                       d.command("memstat"), ALIVE])
    assert results[3]["ok"], results[3]["error"]
    message = check_error(results, 4, "version", "not supported")
    assert "99" in message, message


def test_corrupt_table(session, program, runtime):
    """A bad thread-list pointer: what can be read is shown (no counts: they
    are all in the thread records), with a warning line; a bad field-table
    pointer or an impossible counters-per-page value: one error line."""
    steps = [d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(), d.cont(),
             d.write_memory("memsnap_root", ROOT_THREADS, struct.pack("<Q", 0x10)),
             d.command("memstat -n 1"), ALIVE,
             d.write_memory("memsnap_root", ROOT_COUNTERS_PER_PAGE, struct.pack("<I", 0)),
             d.command("memstat -n 1"), ALIVE,
             d.write_memory("memsnap_root", ROOT_FIELDS, struct.pack("<Q", 0x10)),
             d.command("memstat -n 1"), ALIVE]
    results = session(steps)
    for index in (4, 7, 10):
        assert results[index]["ok"], results[index]["error"]
    partial = results[5]
    if partial["ok"]:
        lines = partial["output"].splitlines()
        assert lines[0] == "no traced blocks", lines
        assert any(line.startswith("warning:") and "0x10" in line for line in lines), lines
        assert results[6]["output"] == "alive\n"
    else:
        check_error(results, 5, "corrupt", "cannot read", "unreadable")
    check_error(results, 8, "corrupt", "counters_per_page", "impossible")
    check_error(results, 11, "corrupt", "field", "cannot read")


def test_truncated_core(session, program, runtime, tmp_path):
    """A kernel core cut to a third: one line saying the core is truncated
    (or what is missing), never a crash and never "no process"."""
    aborting = program("tests/debuggers/programs/waste_and_abort")
    core = kernel_core(aborting, runtime, str(tmp_path))
    truncated = str(tmp_path / "truncated.core")
    with open(core, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(os.path.getsize(core) // 3))
    results = session([d.open_core(aborting, truncated), d.command("memstat -n 3"), ALIVE,
                       d.command("memtrace"), ALIVE])
    for index in (1, 3):
        stat = results[index]
        if stat["ok"]:
            # What could be read, plus a line saying what is missing.
            text = stat["output"].lower()
            assert "missing" in text or "truncated" in text or "cannot read" in text, text
            assert results[index + 1]["output"] == "alive\n"
        else:
            message = check_error(results, index, "truncated", "missing", "cannot read")
            assert "no process" not in message, message


def test_unknown_snapshot_bad_address_bad_option(session, program, runtime):
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(),
                       d.command("memsnap before"),
                       d.command("memdiff nosuch"), ALIVE,
                       d.command("memstat nosuch"), ALIVE,
                       d.command("memwhere 0x10"), ALIVE,
                       d.command("memwhere not-an-address"), ALIVE,
                       d.command("memstat --no-such-option"), ALIVE,
                       d.command("memdiff before -k nosuchkey"), ALIVE,
                       d.command("memstat -n many"), ALIVE])
    assert results[3]["ok"], results[3]["error"]
    check_error(results, 4, "nosuch")
    check_error(results, 6, "nosuch")
    check_error(results, 8, "0x10")
    check_error(results, 10, "not-an-address")
    check_error(results, 12, "--no-such-option")
    check_error(results, 14, "nosuchkey")
    check_error(results, 16, "many")
