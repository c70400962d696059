"""Snapshot files in each debugger: saved from a live process, loaded in a session without one.

`memsnap --save` writes a 0600 file and refuses an existing file (unless
--force) and a symbolic link; a fresh debugger with no program loads it
and prints the same traceback statistics, source lines included.
`memsnap --load` of a FIFO, /dev/zero or a damaged file gives one line at
once and the debugger goes on.
"""

import os
import stat

import debuggers as d

WASTE = "tests/programs/waste_memory"
ALIVE = d.python("print('alive')")


def test_save_then_load_without_a_program(session, program, runtime, tmp_path):
    path = str(tmp_path / "after.memsnap")
    link = str(tmp_path / "link.memsnap")
    os.symlink(str(tmp_path / "elsewhere"), link)
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("memsnap after"),
                       d.command("memsnap --save after %s" % path),
                       d.command("memstat after -k traceback -n 2"),
                       d.command("memsnap --save after %s" % path), ALIVE,
                       d.command("memsnap --save after %s --force" % link), ALIVE,
                       d.command("memsnap --save after %s --force" % path)])
    for index in (4, 5, 6, 11):
        assert results[index]["ok"], results[index]["error"]
    for index, words in ((7, "exists"), (9, "symbolic link")):
        assert not results[index]["ok"] and words in results[index]["error"], results[index]
        assert results[index + 1]["output"] == "alive\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not os.path.lexists(str(tmp_path / "elsewhere"))
    expected = results[6]["output"]
    assert "malloc" in expected                      # source lines are part of it

    loaded = session([d.command("memsnap --load %s restored" % path),
                      d.command("memstat restored -k traceback -n 2")])
    assert loaded[0]["ok"], loaded[0]["error"]
    assert loaded[1]["ok"], loaded[1]["error"]
    assert loaded[1]["output"] == expected


def test_load_refuses_what_is_not_a_snapshot(session, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    damaged = tmp_path / "damaged.memsnap"
    damaged.write_bytes(b"memsnap snapshot\n\x02\x00")
    steps = []
    for path in (fifo, "/dev/zero", str(damaged)):
        steps += [d.command("memsnap --load %s" % path), ALIVE]
    steps.append(d.command("memsnap --list"))
    results = session(steps)
    for index, words in ((0, "not a regular file"), (2, "not a regular file"),
                         (4, "truncated")):
        message = results[index]["error"].strip()
        assert not results[index]["ok"] and words in message, results[index]
        assert "\n" not in message and "Traceback" not in message
        assert results[index + 1]["output"] == "alive\n"
    assert "no snapshots kept" in results[6]["output"]
