"""A program started through a symbolic link is named by its real file in both debuggers.

GDB names an objfile by the file the link points to, LLDB by the link; memsnap
spells a module path one way (symlinks resolved), so a snapshot saved in one
debugger and compared in the other does not show every frame vanishing. The
seed program runs through a link named `linked_prog`; every frame's module
is the real waste_memory, and the frames without line information print as
`waste_memory(...)`.
"""

import json
import os

import debuggers as d

WASTE = "tests/programs/waste_memory"


def test_modules_are_named_by_their_real_file(session, program, runtime, tmp_path):
    real = program(WASTE)
    link = str(tmp_path / "linked_prog")
    os.symlink(real, link)
    results = session([d.load(link), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("memstat -k traceback -n 1 --json"),
                       d.command("memstat -k traceback -n 1")])
    for result in results:
        assert result["ok"], result["error"]
    frames = json.loads(results[4]["output"])["statistics"][0]["traceback"]
    modules = {frame["module"] for frame in frames if frame["module"]}
    assert os.path.realpath(real) in modules, modules
    assert not any(m.endswith("linked_prog") for m in modules), modules
    assert 'File "waste_memory", in _start' in results[5]["output"], results[5]["output"]
