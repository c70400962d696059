"""LLDB command registration for memsnap: one class-based LLDB command per core command.

install(debugger) makes an LLDBBackend the core's backend and, for each
name in memsnap.views.commands.NAMES, registers `command script add -o -c` a
class whose help is the core's help text (first line as the short help).
Running one calls its run() with the backend and prints its
output. No exception ever leaves a command: a MemsnapError, and anything
else, becomes the command's one-line error (so `lldb --batch` stops and
exits non-zero); the Python traceback is added only in debug mode
(MEMSNAP_DEBUG=1 in the environment). LLDB 14 has no completion hook for
Python commands, so the core's completion is not wired here.
"""

import sys
import traceback

import lldb

import memsnap
import memsnap.views.commands as commands
from memsnap import failures
from memsnap.errors import MemsnapError

import memsnap_lldb_backend

# The backend of the debugger memsnap was last installed in (for scripts and tests).
INSTANCE = None
_BACKENDS = {}


def backend_for(debugger):
    """The backend of `debugger` (one per debugger, made on first use)."""
    key = debugger.GetID()
    backend = _BACKENDS.get(key)
    if backend is None:
        backend = _BACKENDS[key] = memsnap_lldb_backend.LLDBBackend(debugger)
    return backend


class MemsnapCommand:
    """Base of the generated command classes; NAME is set per subclass."""

    NAME = None

    def __init__(self, debugger, internal_dict):
        self.backend = backend_for(debugger)

    def get_short_help(self):
        text = commands.help_text(self.NAME)
        return text.splitlines()[0] if text else self.NAME

    def get_long_help(self):
        return commands.help_text(self.NAME)

    def __call__(self, debugger, command, exe_ctx, result):
        try:
            memsnap.set_backend(self.backend)
            output = commands.run(self.NAME, command or "", self.backend)
            if output:
                result.Print(output if output.endswith("\n") else output + "\n")
            result.SetStatus(lldb.eReturnStatusSuccessFinishResult)
        except BaseException as e:  # never let lldb print a traceback and exit 0
            message = failures.failure_message(self.NAME, e)
            if failures.debug_mode_from_environment() and failures.wants_traceback(e):
                message += "\n" + traceback.format_exc().rstrip()
            result.SetError(message)


def _class_name(name):
    return "Command_" + "".join(c if c.isalnum() else "_" for c in name)


def install(debugger, internal_dict):
    """Install the backend and register every memsnap command in `debugger`.

    `internal_dict` is LLDB's script session namespace, where LLDB looks up
    the command classes by their dotted name."""
    global INSTANCE
    internal_dict[__name__] = sys.modules[__name__]
    backend = backend_for(debugger)
    INSTANCE = backend
    memsnap.set_backend(backend)
    interpreter = debugger.GetCommandInterpreter()
    for name in commands.NAMES:
        class_name = _class_name(name)
        cls = globals().get(class_name)
        if cls is None:
            cls = type(class_name, (MemsnapCommand,), {"NAME": name})
            globals()[class_name] = cls
        result = lldb.SBCommandReturnObject()
        interpreter.HandleCommand("command script add -o -s synchronous -c %s.%s %s"
                                  % (__name__, class_name, name), result)
        if not result.Succeeded():
            raise MemsnapError("cannot register the %s command: %s"
                               % (name, failures.one_line(result.GetError())))
