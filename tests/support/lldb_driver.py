"""The LLDB driver of the integration tests: runs a step list in `memsnap-lldb --batch`.

Host side (imported by debuggers.py): LldbDriver builds the command line of
the launcher under test (build/lldb/memsnap-lldb, or MEMSNAP_LLDB_LAUNCHER)
in batch mode without ~/.lldbinit, which imports this same file into LLDB.
Debugger side (__lldb_init_module, run inside LLDB's Python): LldbOperations
implements step_runner.Operations with the commands a user would type
(`target create`, `breakpoint set`, `process launch`, the memsnap
commands, ...); a failing command's message is LLDB's one-line error
without its "error: " prefix. LLDB 14 cannot write an ELF core, so the
gcore step detaches with the process kept stopped, has gdb's `gcore`
write the core, and attaches again. Registers itself as "lldb".
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import debuggers  # noqa: E402


class LldbDriver(debuggers.LauncherDriver):
    name = "lldb"

    def command_line(self, env):
        return [self.launcher(), "--batch", "--no-lldbinit",
                "-o", "command script import %s" % _lldb_quote(os.path.abspath(__file__))]


def _lldb_quote(text):
    """One argument of an LLDB command line."""
    if text and all(c.isalnum() or c in "-_./=:,+@%" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


debuggers.register(LldbDriver())


# ---- inside LLDB ----

def _operations_class():
    import lldb
    import step_runner

    class LldbOperations(step_runner.Operations):

        def __init__(self, debugger):
            self.debugger = debugger
            self.debugger.SetAsync(False)
            self.interpreter = debugger.GetCommandInterpreter()
            self.namespace = {"__name__": "__memsnap_test__", "lldb": lldb}

        def _execute(self, text):
            result = lldb.SBCommandReturnObject()
            # Commands nested in `command script import` would otherwise see
            # the context of that command (no target): pass the current one.
            context = self._context()
            if context is None:
                self.interpreter.HandleCommand(text, result)
            else:
                self.interpreter.HandleCommand(text, context, result)
            if not result.Succeeded():
                error = (result.GetError() or "").strip()
                if error.startswith("error: "):
                    error = error[len("error: "):]
                raise step_runner.StepError(error or "%s failed" % text)
            return result.GetOutput() or ""

        def _context(self):
            target = self.debugger.GetSelectedTarget()
            if not target.IsValid():
                return None
            process = target.GetProcess()
            if process.IsValid():
                thread = process.GetSelectedThread()
                if thread.IsValid():
                    frame = thread.GetSelectedFrame()
                    if frame.IsValid():
                        return lldb.SBExecutionContext(frame)
                    return lldb.SBExecutionContext(thread)
                return lldb.SBExecutionContext(process)
            return lldb.SBExecutionContext(target)

        def _target(self):
            return self.debugger.GetSelectedTarget()

        def _process(self):
            process = self._target().GetProcess()
            return process if process.IsValid() else None

        def load(self, program, args, preload, env):
            self._execute("target create %s" % _lldb_quote(program))
            if args:
                self._execute("settings set -- target.run-args %s"
                              % " ".join(_lldb_quote(a) for a in args))
            else:
                self._execute("settings clear target.run-args")
            if preload:
                self._execute("settings set target.env-vars %s"
                              % _lldb_quote("LD_PRELOAD=" + preload))
            else:
                self._execute("settings clear target.env-vars")
                self._execute("settings append target.unset-env-vars LD_PRELOAD")
            for key, value in env.items():
                self._execute("settings append target.env-vars %s"
                              % _lldb_quote("%s=%s" % (key, value)))

        def open_core(self, program, core):
            self._execute("target create %s --core %s"
                          % (_lldb_quote(program), _lldb_quote(core)))

        def breakpoint(self, location):
            self._execute("breakpoint set --name %s" % _lldb_quote(location))

        def delete_breakpoints(self):
            self._execute("breakpoint delete --force")

        def run(self):
            self._execute("process launch")
            return self.stop()

        def cont(self):
            self._execute("process continue")
            return self.stop()

        def gcore(self, path):
            self._execute("gcore %s" % _lldb_quote(path))

        def write_memory(self, symbol, offset, data):
            import memsnap_lldb_commands
            process = self._process()
            if process is None:
                raise step_runner.StepError("no process")
            address = memsnap_lldb_commands.INSTANCE.lookup_symbol(symbol)
            if address is None:
                raise step_runner.StepError("no symbol %s" % symbol)
            error = lldb.SBError()
            payload = bytes.fromhex(data)
            written = process.WriteMemory(address + offset, payload, error)
            if not error.Success() or written != len(payload):
                raise step_runner.StepError(error.GetCString() or "write failed")

        def kill(self):
            self._execute("process kill")

        def attach(self, pid):
            self._execute("process attach --pid %d" % pid)

        def detach(self):
            self._execute("process detach")

        def stop(self):
            process = self._process()
            state = process.GetState() if process is not None else lldb.eStateInvalid
            if state == lldb.eStateExited:
                return {"state": "exited", "function": None,
                        "exit_code": process.GetExitStatus(), "signal": None}
            if process is None or state not in (lldb.eStateStopped, lldb.eStateCrashed,
                                                 lldb.eStateSuspended):
                return {"state": "none", "function": None, "exit_code": None,
                        "signal": None}
            thread = process.GetSelectedThread()
            frame = thread.GetFrameAtIndex(0)
            function = (frame.GetDisplayFunctionName() or frame.GetFunctionName()
                        if frame.IsValid() else None)
            signal = None
            if thread.GetStopReason() == lldb.eStopReasonSignal:
                signo = thread.GetStopReasonDataAtIndex(0)
                signal = process.GetUnixSignals().GetSignalAsCString(signo)
            return {"state": "stopped", "function": function or None,
                    "exit_code": None, "signal": signal}

    return LldbOperations


def __lldb_init_module(debugger, internal_dict):
    if not os.environ.get("MEMSNAP_TEST_STEPS"):
        return
    import step_runner
    operations = _operations_class()(debugger)
    try:
        step_runner.main(operations)
    finally:
        import lldb
        process = debugger.GetSelectedTarget().GetProcess()
        if process.IsValid() and process.GetState() not in (lldb.eStateInvalid,
                                                             lldb.eStateExited,
                                                             lldb.eStateDetached):
            process.Kill()
