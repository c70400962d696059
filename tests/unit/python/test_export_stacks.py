"""Folded stacks and speedscope JSON from the export input: the exact folded
lines (one and two columns), frame names that keep functions and call
sites apart, and speedscope files that follow speedscope's documented file
format (https://www.speedscope.app/file-format-schema.json, restated in
check_speedscope) with weights adding up to the profile's numbers."""

import json
import numbers

import export_profiles as fixture
from memsnap.views.export import export, format_for_path
from memsnap.views.export.samples import INUSE_BYTES, INUSE_COUNT, ALLOC_BYTES, ALLOC_COUNT

ROOT = "waste_memory(_start+0x21);libc.so.6(__libc_start_call_main+0x7a);main (/src/waste_memory.c:60)"
RUN = ROOT + ";run (/src/waste_memory.c:48)"


def test_folded_lines():
    assert export("folded", fixture.after()).splitlines() == [
        ROOT + ";??(0x1234) 333",
        ROOT + ";pool_alloc (/src/pool.c:12) 7000",
        RUN + ";get_data (/src/waste_memory.c:41);MyObject_new (/src/waste_memory.c:28) 480000",
        RUN + ";get_data (/src/waste_memory.c:41);MyObject_new (/src/waste_memory.c:30)"
              ";init_buffer (/src/waste_memory.c:22) 1000000",
        RUN + ";libc.so.6(strdup+0x1a) 80000",
    ]


def test_folded_difference_has_old_and_new_columns():
    lines = export("folded", fixture.after(), fixture.before()).splitlines()
    assert lines[0] == ROOT + ";??(0x1234) 0 333"
    assert ROOT + ";waste_memory(_start+0x21) 64000 0" in lines
    assert RUN + ";libc.so.6(strdup+0x1a) 80000 80000" in lines
    assert len(lines) == 6


def test_folded_names_cannot_break_the_format():
    frame = fixture.line_frame("operator;new\nodd", 3, 0x555555555010)
    profile = fixture.Profile("odd", (fixture.sample([fixture.location(frame)], 1, 5, 1, 5),))
    assert export("folded", profile) == "operator,new odd (/src/waste_memory.c:3) 5\n"


def check_speedscope(document):
    """speedscope's file format, as its schema documents it, for the parts
    memsnap writes: sampled profiles over a shared frame table."""
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert set(document) <= {"$schema", "shared", "profiles", "name", "activeProfileIndex",
                             "exporter"}
    frames = document["shared"]["frames"]
    for frame in frames:
        assert isinstance(frame["name"], str)
        assert set(frame) <= {"name", "file", "line", "col"}
        assert isinstance(frame.get("file", ""), str)
        assert isinstance(frame.get("line", 0), int)
    assert isinstance(document["name"], str)
    assert 0 <= document["activeProfileIndex"] < len(document["profiles"])
    for profile in document["profiles"]:
        assert set(profile) == {"type", "name", "unit", "startValue", "endValue", "samples",
                                "weights"}
        assert profile["type"] == "sampled"
        assert isinstance(profile["name"], str)
        assert profile["unit"] in ("none", "nanoseconds", "microseconds", "milliseconds",
                                   "seconds", "bytes")
        assert len(profile["samples"]) == len(profile["weights"])
        for stack in profile["samples"]:
            assert all(isinstance(i, int) and 0 <= i < len(frames) for i in stack)
        assert all(isinstance(w, numbers.Number) and w > 0 for w in profile["weights"])
        assert profile["startValue"] == 0
        assert profile["endValue"] == sum(profile["weights"])


def test_speedscope_views_and_weights():
    profile = fixture.after()
    document = json.loads(export("speedscope", profile))
    check_speedscope(document)
    views = {p["name"]: p for p in document["profiles"]}
    for view, unit, index in (("live bytes", "bytes", INUSE_BYTES), ("live blocks", "none", INUSE_COUNT),
                              ("allocated bytes", "bytes", ALLOC_BYTES),
                              ("allocated blocks", "none", ALLOC_COUNT)):
        entry = views["after: " + view]
        assert entry["unit"] == unit
        assert entry["endValue"] == sum(s.values[index] for s in profile.samples)
    # stacks are outermost first and spell frames as the folded export does
    frames = document["shared"]["frames"]
    live = views["after: live bytes"]
    stacks = {";".join(frames[i]["name"] for i in stack): weight
              for stack, weight in zip(live["samples"], live["weights"])}
    folded = dict(line.rsplit(" ", 1) for line in export("folded", profile).splitlines())
    assert stacks == {stack: int(weight) for stack, weight in folded.items()}
    assert {"name": "init_buffer (/src/waste_memory.c:22)", "file": "/src/waste_memory.c",
            "line": 22} in frames
    assert {"name": "libc.so.6(strdup+0x1a)", "file": fixture.LIBC} in frames


def test_speedscope_difference_splits_growth_and_shrinking():
    document = json.loads(export("speedscope", fixture.after(), fixture.before()))
    check_speedscope(document)
    views = {p["name"]: p["endValue"] for p in document["profiles"]}
    assert views == {
        "after minus before: grown bytes": 600000 + 333 + 7000,
        "after minus before: grown blocks": 6000 + 3 + 7,
        "after minus before: shrunk bytes": 96000 + 64000,
        "after minus before: shrunk blocks": 2000 + 2,
    }


def test_format_for_path():
    assert format_for_path("heap.pb.gz") == "pprof"
    assert format_for_path("heap.PPROF") == "pprof"
    assert format_for_path("heap.svg") == "flamegraph"
    assert format_for_path("heap.folded") == "folded"
    assert format_for_path("heap.speedscope.json") == "speedscope"
    assert format_for_path("heap.json") == "json"
    assert format_for_path("heap.txt") == "text"
