"""GDB's ways in: the memsnap-gdb launcher with gdb's own command line, the
one-line `source`, the GDB Python scripts of the seed, help and completion.

These are GDB-specific (the LLDB side has its own ways in), so they run
only in the gdb suite. They start gdb exactly as a user would and read its
output.
"""

import os
import subprocess

import pytest

import debuggers
import seed_expectations as seed
from user_command_line import contains_block, debugger_output as gdb_output

WASTE = "tests/programs/waste_memory"
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")


@pytest.fixture
def launcher(request):
    selected = request.config.getoption("debugger")
    if selected and "gdb" not in selected:
        pytest.skip("gdb-only test")
    driver = debuggers.DRIVERS["gdb"]
    reason = driver.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return driver.launcher()


def test_launcher_args_and_seed(launcher, program, runtime):
    out, err, _ = gdb_output([
        launcher, "-batch", "-nx", "-ex", "break checkpoint", "-ex", "run",
        "-ex", "memsnap before", "-ex", "continue", "-ex", "memsnap after",
        "-ex", "memdiff before after -n 3", "--args", program(WASTE), "a", "b"])
    assert contains_block(out.splitlines(), seed.top3_lines()), out + err


def test_launcher_core_argument(launcher, program, runtime, tmp_path):
    """`memsnap-gdb ./prog core`: post-mortem from the command line."""
    core = str(tmp_path / "after.core")
    gdb_output([launcher, "-batch", "-nx", "-ex", "break checkpoint", "-ex", "run",
                "-ex", "continue", "-ex", "gcore " + core, program(WASTE)])
    out, err, _ = gdb_output([launcher, "-batch", "-nx", "-ex", "memstat -n 3",
                              program(WASTE), core])
    assert contains_block(out.splitlines(), seed.top3_stat_lines()), out + err


def test_launcher_attach(launcher, program, runtime):
    """`memsnap-gdb -p PID`: attach to a program already running under the runtime."""
    churn = program("tests/debuggers/programs/threads_churn")
    proc = subprocess.Popen([churn, "100000", "5"], stdout=subprocess.DEVNULL,
                            env=dict(os.environ, LD_PRELOAD=runtime))
    try:
        out, err, _ = gdb_output([launcher, "-batch", "-nx", "-p", str(proc.pid),
                                  "-ex", "memtrace", "-ex", "memstat -k function -n 0"])
    finally:
        proc.kill()
        proc.wait()
    assert "tracing: yes" in out, out + err
    assert "target: live process" in out, out + err
    for site in ("site_small", "site_medium", "site_large", "site_zeroed"):
        assert "(%s)" % site in out, out + err


def test_launcher_keeps_existing_preload(launcher, program, runtime):
    extra = "/lib/x86_64-linux-gnu/libm.so.6"
    out, err, _ = gdb_output([launcher, "-batch", "-nx", "-ex", "show environment LD_PRELOAD",
                              program(WASTE)], env={"LD_PRELOAD": extra})
    assert "LD_PRELOAD = %s:%s" % (runtime, extra) in out, out + err


def test_source_in_existing_session(launcher, program, runtime):
    script = os.path.join(debuggers.SOURCE_ROOT, "gdb", "memsnap_gdb.py")
    out, err, _ = gdb_output([
        "gdb", "-batch", "-nx", "-ex", "source " + script,
        "-ex", "set environment LD_PRELOAD=" + runtime,
        "-ex", "break checkpoint", "-ex", "run", "-ex", "continue",
        "-ex", "memstat -n 3", program(WASTE)])
    assert contains_block(out.splitlines(), seed.top3_stat_lines()), out + err


@pytest.mark.parametrize("script, expected", [
    ("top_n.py", lambda: seed.top3_lines()),
    ("with_trace.py", lambda: seed.offender_traceback()),
])
def test_seed_scripts(launcher, program, runtime, script, expected):
    out, err, _ = gdb_output([launcher, "-batch", "-nx", "-x",
                              os.path.join(SCRIPTS, script), program(WASTE)])
    assert contains_block(out.splitlines(), expected()), out + err


def test_help_and_completion(launcher, program):
    out, err, _ = gdb_output([launcher, "-batch", "-nx", "-ex", "help memsnap",
                              "-ex", "help memdiff", "-ex", "complete memstat --c",
                              "-ex", "complete memdiff -k ", "-ex", "complete memtrace st",
                              "-ex", "show memsnap debug", program(WASTE)])
    lines = out.splitlines()
    assert lines and lines[0].strip(), out + err
    assert "memstat --cumulative" in lines, out
    for key in ("lineno", "filename", "function", "traceback"):
        assert "memdiff -k " + key in lines, out
    assert "memtrace start" in lines and "memtrace stop" in lines, out
    assert "memsnap debug mode is off." in out, out


def test_debug_mode_shows_traceback(launcher):
    out, err, _ = gdb_output([launcher, "-batch", "-nx", "-ex", "memstat"],
                             env={"MEMSNAP_DEBUG": "1"})
    assert "Traceback" in out + err, out + err
    out, err, _ = gdb_output([launcher, "-batch", "-nx", "-ex", "memstat"])
    assert "Traceback" not in out + err and "no process" in err, out + err


def test_substitute_path(launcher, program, runtime, tmp_path):
    """Sources moved elsewhere: `set substitute-path` decides both the file
    names printed and the source lines read."""
    moved = tmp_path / "tests" / "programs"
    moved.mkdir(parents=True)
    with open(seed.SOURCE) as f:
        text = f.read().replace("/* data line */", "/* data line, moved copy */")
    (moved / "waste_memory.c").write_text(text)
    (tmp_path / "build").mkdir()
    out, err, _ = gdb_output([
        launcher, "-batch", "-nx",
        "-ex", "set substitute-path %s %s" % (debuggers.build_root(), tmp_path / "build"),
        "-ex", "break checkpoint", "-ex", "run", "-ex", "continue",
        "-ex", "memstat -k traceback -n 1", program(WASTE)])
    lines = out.splitlines()
    data_line = seed.line_of(seed.DATA)
    assert '  File "%s", line %d' % (moved / "waste_memory.c", data_line) in lines, out + err
    assert "    obj->data = malloc(100); /* data line, moved copy */" in lines, out + err
