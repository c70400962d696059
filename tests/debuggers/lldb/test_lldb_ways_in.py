"""LLDB's ways in: the memsnap-lldb launcher with lldb's own command line (program
arguments, core files, -p PID, an existing LD_PRELOAD, the Debian lldb-14
Python path), the one-line `command script import`, an LLDB Python script
on `import memsnap`, help, `gcore`, exit codes and debug mode.

They start lldb exactly as a user would and read its output; the shared
debugger-neutral cases live in tests/debuggers/shared (suite 'lldb' too), whose
fixtures `program` and `runtime` (debugger_fixtures.py) this file uses. Run by
`meson test --suite lldb` (MEMSNAP_BUILD_ROOT is the build tree).
"""

import os
import signal
import subprocess
import sys
import time

import pytest

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "support"))

import debuggers  # noqa: E402
import seed_expectations as seed  # noqa: E402
from debugger_fixtures import program, runtime  # noqa: E402,F401  (the shared fixtures)
from user_command_line import contains_block, debugger_output as lldb_output  # noqa: E402

WASTE = "tests/programs/waste_memory"
LLDB_PYTHON = "/usr/lib/llvm-14/lib/python3.11/dist-packages"

TOP_N_SCRIPT = '''
import lldb
import memsnap

def run(debugger, command, exe_ctx, result, internal_dict):
    debugger.SetAsync(False)
    target = debugger.GetSelectedTarget()
    target.BreakpointCreateByName("checkpoint")
    process = target.LaunchSimple(None, None, os.getcwd())
    time1 = memsnap.take_snapshot()              # Before snapshot
    process.Continue()
    time2 = memsnap.take_snapshot()              # After snapshot
    stats = time2.compare_to(time1, 'lineno')    # Compare snapshots
    for stat in stats[:3]:
        print(stat)
    top = time2.compare_to(time1, 'traceback')[0]
    print('\\n'.join(top.traceback.format()))
    process.Kill()

def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand("command script add -f top_n.run top-n")
'''


@pytest.fixture
def memsnap_lldb():
    path = debuggers.DRIVERS["lldb"].launcher()
    if not os.access(path, os.X_OK):
        pytest.skip("launcher %s not built" % path)
    return path


@pytest.fixture
def waste(program):
    return program(WASTE)


SEED_COMMANDS = ["-o", "breakpoint set -n checkpoint", "-o", "process launch",
                 "-o", "memsnap before", "-o", "process continue",
                 "-o", "memsnap after", "-o", "memdiff before after -n 3",
                 "-o", "memdiff before after -k traceback -n 1"]


def test_launcher_batch_with_program_arguments(memsnap_lldb, waste, runtime):
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x"] + SEED_COMMANDS
                                 + ["-o", "settings show target.run-args",
                                    "--", waste, "a", "b"])
    lines = out.splitlines()
    assert code == 0, out + err
    assert contains_block(lines, seed.top3_lines()), out + err
    assert contains_block(lines, seed.offender_traceback()), out + err
    assert '  [0]: "a"' in lines and '  [1]: "b"' in lines, out


def test_launcher_keeps_existing_preload_and_pythonpath(memsnap_lldb, waste, runtime):
    extra = "/lib/x86_64-linux-gnu/libm.so.6"
    out, err, _ = lldb_output([memsnap_lldb, "--batch", "-x",
                               "-o", "settings show target.env-vars", waste],
                              env={"LD_PRELOAD": extra, "PYTHONPATH": "/nowhere"})
    assert "LD_PRELOAD=%s:%s" % (runtime, extra) in out, out + err
    assert "PYTHONPATH=/nowhere" in out, out + err


def test_python_path_problem_is_handled(memsnap_lldb):
    """The launcher's lldb runs Python scripts even where plain lldb-14 cannot."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([memsnap_lldb, "--batch", "-x", "-o",
                           "script import memsnap, lldb; print('ok', lldb.__file__)"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0 and "\nok " in out, out + proc.stderr.decode()
    assert "embedded_interpreter" not in proc.stderr.decode()


def test_failed_command_exits_nonzero_with_one_line(memsnap_lldb):
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x", "-o", "memstat",
                                  "-o", "script print('not reached')"])
    assert code != 0, out + err
    assert "not reached" not in out
    errors = [line for line in err.splitlines() if line.strip()]
    assert errors == ["error: no process: start one or open a core"], err
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x", "-o", "memstat"],
                                 env={"MEMSNAP_DEBUG": "1"})
    assert code != 0 and "Traceback" in err, out + err


def test_help_for_every_command(memsnap_lldb):
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x", "-o", "help",
                                  "-o", "script import memsnap.views.commands; "
                                  "print(' '.join(memsnap.views.commands.NAMES))"])
    assert code == 0, out + err
    names = out.splitlines()[-1].split()
    assert "memsnap" in names and "memdiff" in names, out
    for name in names:
        assert any(line.strip().startswith(name + " ") and "--" in line
                   for line in out.splitlines()), (name, out)
        long_help, err, code = lldb_output([memsnap_lldb, "--batch", "-x",
                                            "-o", "help " + name])
        assert code == 0 and "Usage" in long_help, long_help + err


def test_import_in_existing_session(waste, runtime):
    script = os.path.join(SOURCE_ROOT, "lldb", "memsnap_lldb.py")
    out, err, code = lldb_output([
        "lldb", "--batch", "-x", "-o", "command script import " + script,
        "-o", "settings set target.env-vars LD_PRELOAD=" + runtime,
        "-o", "breakpoint set -n checkpoint", "-o", "process launch",
        "-o", "process continue", "-o", "memstat -n 3", waste],
        env={"PYTHONPATH": LLDB_PYTHON})
    if "embedded_interpreter" in err:
        pytest.skip("this lldb's Python needs PYTHONPATH=%s" % LLDB_PYTHON)
    assert code == 0, out + err
    assert contains_block(out.splitlines(), seed.top3_stat_lines()), out + err


def test_python_script_on_import_memsnap(memsnap_lldb, waste, runtime, tmp_path):
    script = tmp_path / "top_n.py"
    script.write_text("import os\n" + TOP_N_SCRIPT)
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x",
                                  "-o", "command script import %s" % script,
                                  "-o", "top-n", waste], cwd=str(tmp_path))
    lines = out.splitlines()
    assert code == 0, out + err
    assert contains_block(lines, seed.top3_lines()), out + err
    assert contains_block(lines, seed.offender_traceback()), out + err


def test_gcore_and_core_on_the_command_line(memsnap_lldb, waste, runtime, tmp_path):
    core = str(tmp_path / "after.core")
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x",
                                  "-o", "breakpoint set -n checkpoint",
                                  "-o", "process launch", "-o", "process continue",
                                  "-o", "gcore " + core, waste])
    assert code == 0 and os.path.getsize(core) > 0, out + err
    out, err, code = lldb_output([memsnap_lldb, "--batch", "-x", "-o", "memstat -n 3",
                                  waste, "-c", core])
    assert code == 0, out + err
    assert contains_block(out.splitlines(), seed.top3_stat_lines()), out + err
    # gdb reads the same core: memsnap-lldb's gcore writes a standard ELF core.
    gdb = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt 1", waste, core],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=120)
    assert b"checkpoint" in gdb.stdout, gdb.stdout.decode()


def test_attach_to_pid(memsnap_lldb, runtime):
    sleeper = subprocess.Popen(["sleep", "60"], env=dict(os.environ, LD_PRELOAD=runtime))
    try:
        time.sleep(0.5)
        out, err, code = lldb_output([memsnap_lldb, "--batch", "-x",
                                      "-p", str(sleeper.pid), "-o", "memtrace",
                                      "-o", "memstat -n 1"])
        assert code == 0, out + err
        assert "tracing" in out.lower(), out
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()
