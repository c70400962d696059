"""Running a debugger as a user would, for the tests of the ways in (launchers, scripts, exit codes).

tests/debuggers/gdb/test_gdb_ways_in.py and tests/debuggers/lldb/test_lldb_ways_in.py start
memsnap-gdb, memsnap-lldb or a plain debugger with a command line of their
own and read what it printed; this is how they run it (without debug mode
unless the test asks for it) and how they look for expected lines in it.
"""

import os
import subprocess


def debugger_output(argv, env=None, cwd=None, timeout=300):
    """(stdout, stderr, exit code) of `argv` run without input, in `cwd`, with
    the test's environment minus MEMSNAP_DEBUG plus `env`."""
    environment = dict(os.environ)
    environment.pop("MEMSNAP_DEBUG", None)
    environment.update(env or {})
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, cwd=cwd, env=environment)
    return proc.stdout.decode(), proc.stderr.decode(), proc.returncode


def contains_block(lines, block):
    """True when the list `block` occurs in the list `lines` as consecutive lines."""
    return any(lines[i:i + len(block)] == block for i in range(len(lines)))
