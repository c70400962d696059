"""memleaks on incomplete cores, memwhere --who, and the Python API.

A core dump whose highest segment (the main thread's stack) holds no
bytes: memleaks must say which memory it could not scan, never treat it as
empty. `memwhere --who` must name the .bss variable that holds a block.
memsnap.leaks.find_leaks() gives the same totals as the command.
"""

import json
import struct

import debuggers as d
from conftest import leak_program


def hide_highest_segment(core):
    """Make the PT_LOAD with the highest user address (the main stack) hold
    no bytes in an ELF core (p_filesz = 0), as a core cut short would, and
    return its address range."""
    with open(core, "r+b") as f:
        header = f.read(64)
        phoff, = struct.unpack_from("<Q", header, 32)
        phentsize, phnum = struct.unpack_from("<HH", header, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
        loads = []
        for i in range(phnum):
            p_type, _flags, _offset, vaddr, _paddr, filesz, memsz, _align = \
                struct.unpack_from("<IIQQQQQQ", table, i * phentsize)
            if p_type == 1 and filesz and vaddr < (1 << 47):
                loads.append((vaddr, memsz, i))
        vaddr, memsz, index = max(loads)
        f.seek(phoff + index * phentsize + 32)  # p_filesz
        f.write(struct.pack("<Q", 0))
    return vaddr, vaddr + memsz


# Python run in the debugger: a leak report of the stopped program, and the commands.
REPORT_PROLOGUE = (
    "import memsnap.session, memsnap.leaks as leaks\n"
    "from memsnap.views import commands\n"
    "backend = memsnap.session.current.backend\n"
    "report = leaks.find_leaks(backend)\n")


def python_at_checkpoint(session, name, code):
    """What `code` printed in the debugger's Python, leak program `name`
    stopped at leak_checkpoint (the step must succeed)."""
    results = session([d.load(leak_program(name)), d.breakpoint("leak_checkpoint"), d.run(),
                       d.python(code)])
    assert results[3]["ok"], results[3]
    return results[3]["output"]


def test_core_without_stack_reports_what_was_not_scanned(session, tmp_path):
    program = leak_program("leak_list")
    core = str(tmp_path / "leak_list.gcore")
    session([d.load(program), d.breakpoint("leak_checkpoint"), d.run(), d.gcore(core)])
    start, end = hide_highest_segment(core)
    results = session([d.open_core(program, core), d.command("memleaks --json"),
                       d.command("memleaks")])
    assert results[1]["ok"], results[1]
    output = results[1]["output"]
    data = json.loads(output[output.index("{"):])
    gaps = [(g["start"], g["end"], g["what"]) for g in data["not_scanned"]]
    assert any(s <= start < e or start <= s < end for s, e, _ in gaps), gaps
    assert any("stack of thread" in what for _, _, what in gaps), gaps
    text = results[2]["output"]
    assert "warning: not scanned: 0x" in text and "stack of thread" in text, text


def test_memwhere_who_names_the_bss_root(session):
    text = python_at_checkpoint(session, "leak_bss", REPORT_PROLOGUE + (
        "kept = sorted(b for b in report.blocks(leaks.REACHABLE) if b[1] == 64)\n"
        "print('BLOCK 0x%x' % kept[0][0])\n"
        "print(commands.run('memwhere', '0x%x --who' % (kept[0][0] + 5), backend))\n"))
    lines = text.splitlines()
    assert lines[0].startswith("BLOCK 0x")
    assert "pointed at by:" in text, text
    who = text[text.index("pointed at by:"):].splitlines()[1:]
    assert len(who) == 1, who
    assert "data of " in who[0] and who[0].rstrip().endswith("leak_bss (in_bss)"), who


def test_python_api_matches_command(session):
    output = python_at_checkpoint(session, "leak_tree", "import json\n" + REPORT_PROLOGUE + (
        "api = {c: [report.totals[c].count, report.totals[c].size] for c in leaks.CATEGORIES}\n"
        "out = json.loads(commands.run('memleaks', '--json', backend))\n"
        "cmd = {c: [out['totals'][c]['count'], out['totals'][c]['size']] for c in leaks.CATEGORIES}\n"
        "assert api == cmd, (api, cmd)\n"
        "stats = report.statistics(leaks.INDIRECT)\n"
        "print(stats[0].count, stats[0].size, str(stats[0]))\n"))
    count, size, text = output.strip().split(" ", 2)
    assert (int(count), int(size)) == (14, 560)
    assert text.endswith("leak_tree.c:21: size=560 B, count=14, average=40 B"), text
