"""memleaks' verdicts equal valgrind memcheck's, live and on core dumps.

Each leak program stops in leak_checkpoint(); valgrind runs the same
program and checks leaks at the same call (VALGRIND_DO_LEAK_CHECK), with
its default leak heuristics (and once without, against --heuristics none). For
the program's own blocks (key frame in its source file), memleaks' count
and bytes per category (definitely, indirectly, possibly lost, still
reachable), and the indirect bytes led by the definitely lost blocks,
must equal memcheck's: first on the live process, then on a
gcore of it opened in a fresh debugger, and on a kernel core dump taken
at the same point (LEAK_ABORT=1 makes leak_checkpoint abort).
One deliberate difference: memleaks reads heap pages the program made
PROT_NONE (the debugger and core dumps hold their bytes), memcheck skips
them; leak_mprotect is compared with memcheck on the same heap left readable.
"""

import glob
import json
import os
import resource
import subprocess

import pytest

import debuggers as d
from conftest import leak_program, memcheck
from valgrind_leaks import LED

CASES = [
    # (program, source files, what it shows)
    ("leak_list", ["leak_list.c"]),          # lost list: 1 definite + 9 indirect
    ("leak_tree", ["leak_tree.c"]),          # lost tree: root definite, inner indirect
    ("leak_cycle", ["leak_cycle.c"]),        # lost rings: lowest block definite
    ("leak_register", ["leak_register.c"]),  # held only by r12
    ("leak_thread", ["leak_thread.c"]),      # held only by another thread's stack
    ("leak_bss", ["leak_bss.c"]),            # held only by .bss / .data
    ("leak_interior", ["leak_interior.c"]),  # only interior pointers: possibly lost
    ("leak_cxx", ["leak_cxx.cpp"]),          # C++ objects, strings, vectors, map
    ("leak_heuristics", ["leak_heuristics.cpp"]),  # new[], length64, COW-string pointers
    ("leak_chains", ["leak_chains.c"]),      # the nine pointer chains of memcheck's manual
    ("leak_multiple_inheritance", ["leak_multiple_inheritance.cpp"]),  # second-base pointers
]
KERNEL_CORE_CASES = [c for c in CASES if c[0] in ("leak_tree", "leak_thread", "leak_chains",
                                                  "leak_multiple_inheritance")]


def memleaks_command(sources, heuristics="all"):
    patterns = " ".join("-i '*/%s'" % s for s in sources)
    return "memleaks --show all --json -n 0 --heuristics %s %s" % (heuristics, patterns)


def totals(result):
    assert result["ok"], result.get("error") or result["transcript"][-3000:]
    output = result["output"]
    # The debugger may print its own warnings first (e.g. about a kernel core's notes).
    data = json.loads(output[output.index("{"):])
    found = {c: (data["totals"][c]["count"], data["totals"][c]["size"]) for c in data["totals"]}
    # valgrind's "N (D direct, I indirect) bytes ... definitely lost": the I parts.
    found[LED] = sum(s["indirect_size"] for s in data["statistics"].get("definitely lost", []))
    return found, data


def check_complete(data, where=""):
    """Nothing that matters was left unscanned."""
    assert data["unscanned_blocks"]["count"] == 0, (where, data["unscanned_blocks"])
    assert not data["not_scanned"], (where, data["not_scanned"])


@pytest.mark.parametrize("name,sources", CASES, ids=[c[0] for c in CASES])
def test_live_and_gcore_match_memcheck(session, name, sources, tmp_path):
    expected = memcheck(name, sources)
    program = leak_program(name)
    core = str(tmp_path / (name + ".gcore"))
    results = session([d.load(program), d.breakpoint("leak_checkpoint"), d.run(),
                       d.command(memleaks_command(sources)), d.gcore(core)])
    assert results[2]["stop"]["function"] == "leak_checkpoint", results[2]
    live, data = totals(results[3])
    check_complete(data)
    assert live == expected, "live process: memleaks %s, memcheck %s" % (live, expected)
    results = session([d.open_core(program, core), d.command(memleaks_command(sources))])
    on_core, data = totals(results[1])
    check_complete(data)
    assert on_core == expected, "gcore: memleaks %s, memcheck %s" % (on_core, expected)


@pytest.mark.parametrize("name,sources", KERNEL_CORE_CASES, ids=[c[0] for c in KERNEL_CORE_CASES])
def test_kernel_core_matches_memcheck(session, name, sources, tmp_path):
    expected = memcheck(name, sources)
    program = leak_program(name)
    results = session([d.open_core(program, kernel_core(program, tmp_path)),
                       d.command(memleaks_command(sources))])
    on_core, data = totals(results[1])
    assert on_core == expected, "kernel core: memleaks %s, memcheck %s" % (on_core, expected)
    check_complete(data)


def kernel_core(program, tmp_path, env=None):
    """The path of a kernel core dump of `program` aborting in leak_checkpoint
    (run without a debugger, the runtime preloaded, `env` added); skips the
    test when the kernel writes none here."""
    env = dict(os.environ, LD_PRELOAD=d.runtime_path(), LEAK_ABORT="1", **(env or {}))

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    proc = subprocess.run([program], cwd=str(tmp_path), env=env, preexec_fn=allow_core,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=60)
    assert proc.returncode != 0
    cores = glob.glob(str(tmp_path / "core*"))
    if not cores:
        with open("/proc/sys/kernel/core_pattern") as f:
            pytest.skip("no kernel core written (core_pattern %s)" % f.read().strip())
    return cores[0]


def test_protected_heap_pages_are_scanned(session, tmp_path):
    """Pointers on a heap page made PROT_NONE keep their blocks: memleaks
    (live, gcore, kernel core) judges the protected heap as memcheck judges
    the same heap left readable. memcheck itself skips the protected page
    (and pointers into it), so on the protected program it calls those
    blocks lost: checked too, so the program keeps exercising the case."""
    name, sources = "leak_mprotect", ["leak_mprotect.c"]
    expected = memcheck(name, sources, env={"LEAK_NO_MPROTECT": "1"})
    assert memcheck(name, sources) != expected, "memcheck now scans PROT_NONE pages"
    program = leak_program(name)
    core = str(tmp_path / (name + ".gcore"))
    results = session([d.load(program), d.breakpoint("leak_checkpoint"), d.run(),
                       d.command(memleaks_command(sources)), d.gcore(core)])
    verdicts = {"live process": totals(results[3])}
    results = session([d.open_core(program, core), d.command(memleaks_command(sources))])
    verdicts["gcore"] = totals(results[1])
    results = session([d.open_core(program, kernel_core(program, tmp_path)),
                       d.command(memleaks_command(sources))])
    verdicts["kernel core"] = totals(results[1])
    for where, (found, data) in verdicts.items():
        check_complete(data, where)
        assert found == expected, "%s: memleaks %s, memcheck %s" % (where, found, expected)


def test_multiple_inheritance_off_matches_memcheck(session):
    """With every heuristic but multipleinheritance, in both tools, the
    blocks held only by second-base pointers are possibly lost; the program
    must still need that heuristic (its verdicts differ with it on)."""
    name, sources = "leak_multiple_inheritance", ["leak_multiple_inheritance.cpp"]
    others = "stdstring,length64,newarray"
    expected = memcheck(name, sources, heuristics=others)
    assert expected != memcheck(name, sources), "the program no longer needs the heuristic"
    program = leak_program(name)
    results = session([d.load(program), d.breakpoint("leak_checkpoint"), d.run(),
                       d.command(memleaks_command(sources, others))])
    found, _data = totals(results[3])
    assert found == expected, "memleaks %s, memcheck %s" % (found, expected)


def test_without_heuristics_matches_memcheck_without(session):
    """--heuristics none against memcheck's --leak-check-heuristics=none: the
    heuristics' blocks become possibly lost in both."""
    name, sources = "leak_heuristics", ["leak_heuristics.cpp"]
    expected = memcheck(name, sources, heuristics="none")
    with_heuristics = memcheck(name, sources)
    assert expected != with_heuristics, "the program no longer exercises the heuristics"
    program = leak_program(name)
    results = session([d.load(program), d.breakpoint("leak_checkpoint"), d.run(),
                       d.command(memleaks_command(sources, "none"))])
    found, _data = totals(results[3])
    assert found == expected, "memleaks %s, memcheck %s" % (found, expected)
