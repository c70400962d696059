"""Exports from real snapshots in each debugger, read back by their real consumers.

On the seed program (live at the after checkpoint, and on a gcore of it),
`memstat -o FILE` writes pprof, folded stacks, speedscope JSON and an SVG
flame graph, and `memdiff before -o FILE` the difference. `go tool pprof
-top` must show, per function, exactly memstat's own numbers: flat =
`memstat --raw -k function`, cum = the same with --cumulative; the
difference's total = memdiff's size_diff; folded stacks and speedscope sum
to memstat's total. The pprof mappings carry the program's build ID. Every
file is 0600. Bad uses give one line and keep the debugger working.
"""

import json
import os
import re
import stat
import subprocess
import xml.etree.ElementTree as ElementTree

import debuggers as d
from export_consumers import go_pprof, pprof_top, pprof_total

WASTE = "tests/programs/waste_memory"
ALIVE = d.python("print('alive')")


def export_steps(directory):
    """Commands that export the snapshot now (and its difference from
    `before`) into `directory`, and memstat's own numbers as JSON."""
    path = lambda name: os.path.join(directory, name)
    return [
        d.command("memstat --raw -k function -n 0 -o %s" % path("flat.json")),
        d.command("memstat --raw -k function -c -n 0 -o %s" % path("cum.json")),
        d.command("memstat -o %s" % path("now.pb.gz")),
        d.command("memstat -f folded -o %s" % path("now.folded")),
        d.command("memstat -o %s" % path("now.speedscope.json")),
        d.command("memstat -o %s" % path("now.svg")),
    ]


def diff_steps(directory):
    path = lambda name: os.path.join(directory, name)
    return [
        d.command("memdiff before -n 0 --json -o %s" % path("diff.json")),
        d.command("memdiff before -o %s" % path("diff.pb.gz")),
        d.command("memdiff before -f flamegraph -o %s" % path("diff.svg")),
    ]


def assert_ok(results):
    for result in results:
        assert result["ok"], "%s failed: %s" % (result["op"], result["error"])


def by_function(path):
    with open(path) as handle:
        stats = json.load(handle)
    return stats["total"]["size"], {s["function"]: s["size"] for s in stats["statistics"]
                                    if s["function"]}


def readelf_build_id(path):
    notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                           check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)


def check_exports(directory, program):
    total, flat = by_function(os.path.join(directory, "flat.json"))
    _, cumulative = by_function(os.path.join(directory, "cum.json"))
    profile = os.path.join(directory, "now.pb.gz")
    pprof = pprof_top(profile, "inuse_space")
    assert {name: values[0] for name, values in pprof.items() if values[0]} == flat
    assert {name: values[1] for name, values in pprof.items() if name in cumulative} == cumulative
    assert pprof_total(profile, "inuse_space") == total
    mappings = go_pprof("-raw", profile).split("Mappings", 1)[1]
    assert readelf_build_id(program) in mappings, mappings

    with open(os.path.join(directory, "now.folded")) as handle:
        assert sum(int(line.rsplit(" ", 1)[1]) for line in handle) == total
    with open(os.path.join(directory, "now.speedscope.json")) as handle:
        speedscope = json.load(handle)
    by_unit = {p["unit"]: sum(p["weights"]) for p in speedscope["profiles"]}
    assert by_unit["bytes"] == total, by_unit
    root = ElementTree.parse(os.path.join(directory, "now.svg")).getroot()
    assert root.tag.endswith("svg")
    for name in os.listdir(directory):
        assert stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode) == 0o600, name
    return total


def test_exports_live_match_memstat(session, program, runtime, tmp_path):
    waste = program(WASTE)
    out = str(tmp_path / "out")
    os.mkdir(out)
    results = session([d.load(waste), d.breakpoint("checkpoint"), d.run(),
                       d.command("memsnap before"), d.cont()]
                      + export_steps(out) + diff_steps(out))
    assert_ok(results)
    assert results[5]["output"].startswith("memstat: wrote ")
    total = check_exports(out, waste)
    with open(os.path.join(out, "diff.json")) as handle:
        size_diff = json.load(handle)["total"]["size_diff"]
    assert size_diff == total           # nothing was live at the first checkpoint
    assert pprof_total(os.path.join(out, "diff.pb.gz"), "inuse_space") == size_diff
    ElementTree.parse(os.path.join(out, "diff.svg"))


def test_exports_on_gcore(session, program, runtime, tmp_path):
    waste = program(WASTE)
    core = str(tmp_path / "after.core")
    assert_ok(session([d.load(waste), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.gcore(core)]))
    out = str(tmp_path / "out")
    os.mkdir(out)
    assert_ok(session([d.open_core(waste, core)] + export_steps(out)))
    check_exports(out, waste)


def test_export_errors(session, program, runtime, tmp_path):
    existing = tmp_path / "existing.pb.gz"
    existing.write_bytes(b"keep me")
    link = tmp_path / "link.svg"
    os.symlink(str(tmp_path / "elsewhere.svg"), str(link))
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("memstat -f pprof"), ALIVE,
                       d.command("memstat -o %s" % existing), ALIVE,
                       d.command("memstat -o %s" % link), ALIVE,
                       d.command("memstat -f svg -o x"), ALIVE,
                       d.command("memstat --json -f folded"), ALIVE,
                       d.command("memstat --force"), ALIVE,
                       d.command("memstat -o %s" % (tmp_path / "missing" / "x.svg")), ALIVE,
                       d.command("memstat --force -o %s" % existing)])
    expected = ["-o FILE", "exists", "symbolic link", "must be one of", "contradicts",
                "only applies with -o", "missing"]
    for index, words in zip(range(4, 18, 2), expected):
        result = results[index]
        assert not result["ok"], result["output"]
        message = result["error"].strip()
        assert "\n" not in message and "Traceback" not in message, message
        assert words in message, message
        assert results[index + 1]["output"] == "alive\n"
    assert results[18]["ok"], results[18]["error"]
    assert existing.read_bytes()[:2] == b"\x1f\x8b"       # replaced, with --force, by gzip
    assert not os.path.lexists(str(tmp_path / "elsewhere.svg"))
