"""The commands over the waste_memory fake target: the seed flow's exact
text, every option, JSON output, help, completion, and one-line errors."""

import json
import stat

import pytest

import memsnap
from memsnap import session
from fake_target import TableBuilder
from memsnap.views import commands
from memsnap.errors import (BadAddressError, MemsnapError, NoTargetError, NotLiveError,
                            UnknownSnapshotError, UsageError)

SRC = "/src/waste_memory.c"


def seed(waste):
    commands.run("memsnap", "before", waste.before)
    commands.run("memsnap", "after", waste.after)


def test_names_and_help():
    assert commands.NAMES[:5] == ("memsnap", "memstat", "memdiff", "memwhere", "memtrace")
    for name in commands.NAMES:
        text = commands.help_text(name)
        lines = text.split("\n")
        assert lines[0] and not lines[0].startswith("Usage")
        assert any(line.startswith("Usage: " + name) for line in lines)
    assert "--cumulative" in commands.help_text("memstat")


def test_seed_top_three(waste):
    seed(waste)
    out = commands.run("memdiff", "before after -n 3", waste.after)
    assert out == "\n".join([
        SRC + ":29: size=977 KiB (+977 KiB), count=10000 (+10000), average=100 B",
        SRC + ":28: size=469 KiB (+469 KiB), count=10000 (+10000), average=48 B",
        SRC + ":39: size=78.1 KiB (+78.1 KiB), count=100 (+100), average=800 B"])


def test_seed_biggest_offender_with_traceback(waste):
    seed(waste)
    out = commands.run("memdiff", "before after -k traceback -n 1", waste.after)
    lines = out.split("\n")
    assert lines[0] == SRC + ":29: size=977 KiB (+977 KiB), count=10000 (+10000), average=100 B"
    assert lines[1].startswith('  File "libc.so.6", in __libc_start_call_main')
    assert lines[2:] == [
        '  File "%s", line 60' % SRC, "    struct MyObject ***x = run();",
        '  File "%s", line 48' % SRC, "    deep_values[i] = get_data();",
        '  File "%s", line 41' % SRC, "    values[i] = MyObject_new();",
        '  File "%s", line 29' % SRC, "    obj->data = malloc(100); /* data line */"]


def test_memdiff_new_defaults_to_now(waste):
    commands.run("memsnap", "before", waste.before)
    out = commands.run("memdiff", "before -n 1", waste.after)
    assert out == SRC + ":29: size=977 KiB (+977 KiB), count=10000 (+10000), average=100 B"


def test_memdiff_reverse_shows_negative_and_vanished(waste):
    seed(waste)
    out = commands.run("memdiff", "after before -n 2", waste.after)
    assert out.split("\n") == [
        SRC + ":29: size=0 B (-977 KiB), count=0 (-10000)",
        SRC + ":28: size=0 B (-469 KiB), count=0 (-10000)"]


def test_memstat_now_and_kept(waste):
    seed(waste)
    assert commands.run("memstat", "before", waste.after) == "no traced blocks"
    now = commands.run("memstat", "", waste.after).split("\n")
    assert now == [
        SRC + ":29: size=977 KiB, count=10000, average=100 B",
        SRC + ":28: size=469 KiB, count=10000, average=48 B",
        SRC + ":39: size=78.1 KiB, count=100, average=800 B",
        SRC + ":46: size=800 B, count=1, average=800 B"]
    assert commands.run("memstat", "after -n 1", waste.after) == now[0]


def test_memstat_keys_and_cumulative(waste):
    out = commands.run("memstat", "-k function", waste.after).split("\n")
    assert out[0] == SRC + "(MyObject_new): size=1445 KiB, count=20000, average=74 B"
    out = commands.run("memstat", "-k filename", waste.after).split("\n")
    assert out == [SRC + ":0: size=1524 KiB, count=20101, average=78 B"]
    out = commands.run("memstat", "-c -n 3", waste.after).split("\n")
    assert out == [
        "libc.so.6(__libc_start_call_main [+0x29d90]): size=1524 KiB, count=20101, average=78 B",
        SRC + ":60: size=1524 KiB, count=20101, average=78 B",
        SRC + ":48: size=1523 KiB, count=20100, average=78 B"]


def test_memstat_filters(waste):
    out = commands.run("memstat", "-x '*waste_memory.c'", waste.after)
    assert out == "no traced blocks"
    out = commands.run("memstat", "-i '*.c' -d 0 -n 1", waste.after)
    assert out.startswith(SRC + ":29:")
    assert commands.run("memstat", "-d 5", waste.after) == "no traced blocks"


def test_memstat_raw_uses_innermost(waste):
    out = commands.run("memstat", "--raw -n 1", waste.after)
    assert out.startswith(SRC + ":29:")


def test_json_outputs(waste):
    seed(waste)
    data = json.loads(commands.run("memdiff", "before after -n 2 --json", waste.after))
    assert data["statistics"][0]["size"] == 1000000 and data["statistics"][0]["size_diff"] == 1000000
    assert data["statistics"][0]["lineno"] == 29 and data["total"]["count_diff"] == 20101
    data = json.loads(commands.run("memstat", "-k traceback -n 1 --json", waste.after))
    assert [f["lineno"] for f in data["statistics"][0]["traceback"]][-1] == 29
    data = json.loads(commands.run("memsnap", "--list --json", waste.after))
    assert [d["name"] for d in data] == ["before", "after"]
    data = json.loads(commands.run("memtrace", "--json", waste.after))
    assert data["tracing"] is True and data["traceback_limit"] == 16
    data = json.loads(commands.run("memwhere", "0x5000450 --json", waste.after))
    assert data["start"] == 0x5000400 and data["size"] == 800


def test_memsnap_list_delete_auto_names(waste):
    assert commands.run("memsnap", "--list", waste.after) == \
        "no snapshots kept (take one with 'memsnap NAME')"
    out = commands.run("memsnap", "", waste.after)
    assert out == "snapshot snap1: size=1524 KiB, count=20101, sites=4"
    commands.run("memsnap", "x", waste.before)
    assert commands.run("memsnap", "-l", waste.after).split("\n") == [
        "snap1: size=1524 KiB, count=20101, sites=4", "x: size=0 B, count=0, sites=0"]
    assert commands.run("memsnap", "--delete snap1", waste.after) == "deleted snap1"
    with pytest.raises(UnknownSnapshotError) as err:
        commands.run("memstat", "snap1", waste.after)
    assert str(err.value) == "no snapshot named 'snap1': kept are x"


def test_save_and_load(waste, tmp_path):
    seed(waste)
    path = tmp_path / "after.memsnap"
    commands.run("memsnap", "--save after %s" % path, waste.after)
    assert path.read_bytes().startswith(b"memsnap snapshot\n")     # the compact format
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    commands.run("memsnap", "--delete after", waste.after)
    out = commands.run("memsnap", "--load %s restored" % path, None)
    assert out.startswith("loaded 'restored'")
    expected = commands.run("memdiff", "before -k traceback -n 2", waste.after)
    assert commands.run("memdiff", "before restored -k traceback -n 2", waste.after) == expected
    loaded = memsnap.Snapshot.load(str(path))
    assert len(loaded.traces) == 20101
    assert loaded.traceback_limit == 16


def test_version_1_json_still_loads(waste, tmp_path):
    seed(waste)
    path = tmp_path / "after.json"
    path.write_text(json.dumps(session.current.get("after").to_data()))
    out = commands.run("memsnap", "--load %s old" % path, None)
    assert out.startswith("loaded 'old'")
    expected = commands.run("memdiff", "before after -k traceback -n 2", waste.after)
    assert commands.run("memdiff", "before old -k traceback -n 2", waste.after) == expected


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "other"}')
    with pytest.raises(MemsnapError, match="not a memsnap snapshot file"):
        memsnap.Snapshot.load(str(bad))
    bad.write_text("\x80garbage")
    with pytest.raises(MemsnapError):
        memsnap.Snapshot.load(str(bad))


def test_memwhere(waste):
    out = commands.run("memwhere", "0x5000450", waste.after).split("\n")
    assert out[0] == ("0x5000450 is 80 bytes inside a block of 800 B (800 bytes) at 0x5000400, "
                      "domain 0, allocated at:")
    assert out[-2:] == ['  File "%s", line 39' % SRC,
                        "    struct MyObject **values = malloc(100 * sizeof *values); /* array line */"]
    assert commands.run("memwhere", str(0x5000400), waste.after).split("\n")[0].startswith(
        "0x5000400 is 0 bytes inside")
    with pytest.raises(BadAddressError, match="not inside any live traced block"):
        commands.run("memwhere", "0x10", waste.after)
    # not a number: the debugger evaluates it, and its own error is shown
    with pytest.raises(BadAddressError, match="cannot evaluate 'nowhere': No symbol \"nowhere\""):
        commands.run("memwhere", "nowhere", waste.after)


def test_memwhere_who_without_scanner(waste):
    try:
        import memsnap.leaks  # noqa: F401
    except ImportError:
        with pytest.raises(MemsnapError, match="memsnap.leaks"):
            commands.run("memwhere", "0x5000450 --who", waste.after)


def test_snapshot_names(waste):
    for bad in ("''", "'a b'", "-x", "'tab\tname'"):
        with pytest.raises(UsageError, match="is not a snapshot name"):
            commands.run("memsnap", "-- %s" % bad, waste.after)
    assert commands.run("memsnap", "--list", waste.after).startswith("no snapshots kept")


@pytest.mark.parametrize("limit, why", [(0, "tracing is off and never started: MEMSNAP=0"),
                                        (16, "tracing is off: it was stopped")])
def test_memstat_says_why_tracing_is_off(limit, why):
    backend = TableBuilder(state=0x1, traceback_limit=limit).build()     # initialized only
    out = commands.run("memstat", "", backend).split("\n")
    assert out[0] == "no traced blocks"
    assert out[1].startswith("warning: " + why), out


def test_memtrace_status_and_actions(waste):
    out = commands.run("memtrace", "", waste.after).split("\n")
    assert out[0] == "tracing: yes"
    assert "traced memory: current=1524 KiB, peak=1524 KiB" in out
    # tracing is on with 16 frames: start 8 changes nothing, and says so
    assert commands.run("memtrace", "start 8", waste.after) == \
        "tracing was already on: 16 frames per stack (to trace 8, memtrace stop, then memtrace start 8)"
    assert commands.run("memtrace", "stop", waste.after) == "tracing stopped"
    assert commands.run("memtrace", "clear", waste.after) == "traces cleared"
    assert commands.run("memtrace", "reset-peak", waste.after) == "peak reset"
    assert waste.after.called == [("memsnap_start", 8), ("memsnap_stop",),
                                  ("memsnap_clear_traces",), ("memsnap_reset_peak",)]
    waste.after.call_results["memsnap_start"] = -22
    with pytest.raises(MemsnapError, match=r"memsnap_start\(8\) failed: Invalid argument"):
        commands.run("memtrace", "start 8", waste.after)
    with pytest.raises(UsageError, match=r"range \[1; 256\]"):
        commands.run("memtrace", "start 999", waste.after)
    with pytest.raises(UsageError, match="unknown action"):
        commands.run("memtrace", "pause", waste.after)


def test_memtrace_on_a_core(waste):
    waste.after.live = False
    assert "target: core dump" in commands.run("memtrace", "", waste.after)
    with pytest.raises(NotLiveError, match="needs a live process"):
        commands.run("memtrace", "stop", waste.after)


@pytest.mark.parametrize("name, args, message", [
    ("memstat", "--bogus", "memstat: unknown option '--bogus' (see 'help memstat')"),
    ("memstat", "-k nope",
     "memstat: -k must be one of lineno, filename, function, traceback, type, not 'nope'"),
    ("memstat", "-n x", "memstat: -n needs an integer, not 'x'"),
    ("memstat", "-n -1", "memstat: -n must be >= 0, not -1"),
    ("memstat", "-n", "memstat: -n needs a value"),
    ("memstat", "a b", "memstat: too many arguments (usage: memstat [NAME | --peak] [options])"),
    ("memdiff", "", "memdiff: missing argument (usage: memdiff OLD [NEW] [options])"),
    ("memstat", "-k traceback -c", "memstat: --cumulative cannot be used with --key traceback"),
    ("memstat", "-k type -c", "memstat: --cumulative cannot be used with --key type"),
    ("memleaks", "-k type", "memleaks: --key type is memstat's (blocks are typed at the current stop)"),
    ("memdiff", "a -k type", "memdiff: --key type is memstat's (blocks are typed at the current stop)"),
    ("memstat", "'unclosed", "memstat: No closing quotation"),
])
def test_usage_errors(waste, name, args, message):
    with pytest.raises(UsageError) as err:
        commands.run(name, args, waste.after)
    assert str(err.value) == message


def test_no_backend():
    with pytest.raises(NoTargetError):
        commands.run("memstat", "", None)


def test_option_forms(waste):
    a = commands.run("memstat", "-n1", waste.after)
    b = commands.run("memstat", "--limit=1", waste.after)
    c = commands.run("memstat", "--limit 1 --key=lineno", waste.after)
    assert a == b == c and "\n" not in a


def test_completion(waste):
    seed(waste)
    assert commands.complete("memstat", "--cu") == ["--cumulative"]
    assert commands.complete("memstat", "-k ") == ["lineno", "filename", "function", "traceback",
                                                    "type"]
    assert commands.complete("memstat", "-k f") == ["filename", "function"]
    assert commands.complete("memdiff", "b") == ["before"]
    assert commands.complete("memdiff", "") == ["after", "before"]
    assert commands.complete("memtrace", "s") == ["start", "stop"]
    with pytest.raises(UsageError):
        commands.complete("nosuch", "")


def test_warnings_are_reported(waste):
    from fake_target import OP_FREE, TableBuilder
    b = TableBuilder()
    site = b.add_site((0x401105,))
    b.add_block(0x5000000, 10, site)
    b.add_block(0x5000010, 10, site)
    b.pend(0x5000010, OP_FREE, False)
    out = commands.run("memstat", "", b.build()).split("\n")
    assert out[-1] == "warning: 1 in-flight block skipped (a thread was updating the table)"


def test_kept_snapshot_prints_after_the_process_is_gone(waste):
    seed(waste)
    expected = commands.run("memdiff", "before after -n 3", waste.after)
    waste.after.locations.clear()      # the debugger can no longer symbolize
    waste.after.target = False
    assert commands.run("memdiff", "before after -n 3", waste.after) == expected
