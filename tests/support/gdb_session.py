"""The GDB side of an integration test session: step_runner's Operations over gdb.

Executed by `gdb -x` (see gdb_driver.py); memsnap is already loaded by the
launcher. Each method performs one step with ordinary GDB commands, so a
session exercises what a user would type. A failing command's message is
gdb's one-line error text.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gdb  # noqa: E402

import step_runner  # noqa: E402


class GdbOperations(step_runner.Operations):

    def __init__(self):
        self.namespace = {"__name__": "__memsnap_test__"}
        self.exit_code = None
        self.signal = None
        gdb.events.exited.connect(self._on_exit)
        gdb.events.stop.connect(self._on_stop)

    def _on_exit(self, event):
        self.exit_code = getattr(event, "exit_code", None)

    def _on_stop(self, event):
        self.signal = getattr(event, "stop_signal", None)

    def _execute(self, text):
        try:
            return gdb.execute(text, to_string=True)
        except gdb.error as e:
            raise step_runner.StepError(str(e)) from None

    def load(self, program, args, preload, env):
        self._execute("file %s" % program)
        self._execute("set args %s" % " ".join(_quote(a) for a in args))
        if preload:
            self._execute("set environment LD_PRELOAD=%s" % preload)
        else:
            self._execute("unset environment LD_PRELOAD")
        for key, value in env.items():
            self._execute("set environment %s=%s" % (key, value))

    def open_core(self, program, core):
        self._execute("file %s" % program)
        self._execute("core-file %s" % core)

    def breakpoint(self, location):
        self._execute("break %s" % location)

    def delete_breakpoints(self):
        self._execute("delete")

    def run(self):
        self.exit_code = self.signal = None
        self._execute("run")
        return self.stop()

    def cont(self):
        self.exit_code = self.signal = None
        self._execute("continue")
        return self.stop()

    def gcore(self, path):
        self._execute("gcore %s" % path)

    def write_memory(self, symbol, offset, data):
        try:
            address = int(gdb.parse_and_eval("(unsigned long)&%s" % symbol))
            gdb.selected_inferior().write_memory(address + offset, bytes.fromhex(data))
        except (gdb.error, gdb.MemoryError) as e:
            raise step_runner.StepError(str(e)) from None

    def kill(self):
        self._execute("kill")

    def attach(self, pid):
        self._execute("attach %d" % pid)

    def detach(self):
        self._execute("detach")

    def stop(self):
        inferior = gdb.selected_inferior()
        if inferior.pid == 0:
            state = "exited" if self.exit_code is not None else "none"
            return {"state": state, "function": None, "exit_code": self.exit_code,
                    "signal": None}
        try:
            function = gdb.selected_frame().name()
        except gdb.error:
            function = None
        return {"state": "stopped", "function": function, "exit_code": None,
                "signal": self.signal}


def _quote(arg):
    if arg and all(c.isalnum() or c in "-_./=:," for c in arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


step_runner.main(GdbOperations())
