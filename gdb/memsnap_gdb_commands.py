"""GDB command registration for memsnap: one gdb.Command per core command.

Each name in memsnap.views.commands.NAMES becomes a GDB command whose help is the
core's help text and whose completion is the core's. Running one calls
memsnap.views.commands.run with the GDB backend and writes its output; a
MemsnapError becomes a one-line GDB error, and a Python traceback is shown
only in debug mode (`set memsnap debug on`, or MEMSNAP_DEBUG=1 in the
environment). memwhere also accepts a GDB expression (`memwhere obj->data`).
"""

import traceback

import gdb

import memsnap
import memsnap.views.commands as commands
from memsnap import failures


class _DebugParameter(gdb.Parameter):
    """Show Python tracebacks when a memsnap command fails."""

    set_doc = "Set whether memsnap commands show Python tracebacks on errors."
    show_doc = "Show whether memsnap commands show Python tracebacks on errors."

    def __init__(self):
        super().__init__("memsnap debug", gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = failures.debug_mode_from_environment()

    def get_show_string(self, svalue):
        return "memsnap debug mode is %s." % svalue


class _MemsnapPrefix(gdb.Command):
    """Settings of memsnap (tracemalloc for C and C++)."""

    def __init__(self, command):
        super().__init__(command, gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


_debug = None


def debug_enabled():
    """True when memsnap shows tracebacks (parameter or MEMSNAP_DEBUG)."""
    if _debug is not None and _debug.value:
        return True
    return failures.debug_mode_from_environment()


class _MemsnapCommand(gdb.Command):
    """Base of the memsnap commands; subclasses set command_name and __doc__."""

    command_name = None

    def __init__(self, backend):
        self._backend = backend
        super().__init__(self.command_name, gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        self.dont_repeat()
        try:
            output = commands.run(self.command_name, argument, self._backend)
        except gdb.GdbError:
            raise
        except (Exception, KeyboardInterrupt) as e:
            if debug_enabled() and failures.wants_traceback(e):
                traceback.print_exc()
            raise gdb.GdbError(failures.failure_message(
                self.command_name, e, " (set memsnap debug on for a traceback)")) from None
        if output:
            gdb.write(output if output.endswith("\n") else output + "\n")

    def complete(self, text, word):
        try:
            candidates = commands.complete(self.command_name, text)
        except Exception:
            return gdb.COMPLETE_NONE
        # The core completes whole tokens; gdb replaces only `word`, the end
        # of the token after gdb's own word breaks (e.g. "k" of "--k").
        token = "" if not text or text[-1].isspace() else text.split()[-1]
        word = word or ""
        cut = len(token) - len(word) if token.endswith(word) else 0
        return [c[cut:] for c in candidates if c.startswith(token)]


def register(backend):
    """Register the debug parameter and every core command; return the command objects."""
    global _debug
    if _debug is None:
        _MemsnapPrefix("set memsnap")
        _MemsnapPrefix("show memsnap")
        _debug = _DebugParameter()
    registered = []
    for name in commands.NAMES:
        try:
            help_text = commands.help_text(name)
        except Exception:
            help_text = "memsnap command %s." % name
        command_class = type("Memsnap_" + name, (_MemsnapCommand,),
                             {"command_name": name, "__doc__": help_text})
        registered.append(command_class(backend))
    return registered
