"""The GDB driver of the integration tests: runs a step list in `memsnap-gdb -batch`.

Host side only: it builds the command line of the launcher under test
(build/gdb/memsnap-gdb, or MEMSNAP_GDB_LAUNCHER) in batch mode without
~/.gdbinit, whose Python then runs gdb_session.py (the GDB Operations for
step_runner). Registers itself in debuggers.DRIVERS as "gdb".
"""

import os

import debuggers


class GdbDriver(debuggers.LauncherDriver):
    name = "gdb"

    def command_line(self, env):
        return [self.launcher(), "-batch", "-nx",
                "-ex", "set confirm off", "-ex", "set pagination off",
                "-ex", "set width 0",
                "-x", os.path.join(debuggers.HERE, "gdb_session.py")]


debuggers.register(GdbDriver())
