"""The README's leak hunt, as printed there: memleaks on the kernel core of waste_and_abort.

waste_and_abort drops its only pointer to run()'s result (and scrubs the
dead stack that still held a copy) before aborting; its kernel core shows
one definitely lost 800-byte array at waste_memory.c:52 with 20100 blocks
(1523 KiB) indirectly lost below it, in GDB and LLDB alike.
"""

import debuggers as d
from cores import kernel_core
from debugger_fixtures import built_program

README_SUMMARY = ["definitely lost: 800 B in 1 block",
                  "indirectly lost: 1523 KiB in 20100 blocks",
                  "  possibly lost: 0 B in 0 blocks"]


def test_readme_leak_hunt(session, runtime, tmp_path):
    aborting = built_program("tests/debuggers/programs/waste_and_abort")
    core = kernel_core(aborting, runtime, str(tmp_path))
    result = session([d.open_core(aborting, core), d.command("memleaks -n 1")])[1]
    assert result["ok"], result["error"]
    lines = result["output"].splitlines()
    assert lines[1:4] == README_SUMMARY, result["output"]
    assert lines[lines.index("definitely lost:") + 1].endswith(
        "tests/programs/waste_memory.c:52: size=800 B, count=1, average=800 B")
