"""Load memsnap into LLDB: `command script import /path/to/memsnap_lldb.py` in any session.

Finds the Python core (python/memsnap in a source tree, or
<datadir>/memsnap/python when installed; MEMSNAP_PYTHONPATH overrides),
puts it and this directory on sys.path so `import memsnap` works in
LLDB's `script`, installs the LLDB backend and registers the memsnap
commands (memsnap_lldb_commands.py), plus `gcore` (memsnap_lldb_gcore.py)
since LLDB 14 cannot write ELF cores. Importing it twice is harmless. The
runtime (libmemsnap.so) is not put into the program by this script: the
memsnap-lldb launcher does that, or
`settings set target.env-vars LD_PRELOAD=/path/to/libmemsnap.so` before
`run`.
"""

import os
import sys


def _core_directory(here):
    candidates = [os.environ.get("MEMSNAP_PYTHONPATH", ""),
                  os.path.join(os.path.dirname(here), "python")]
    for candidate in candidates:
        if candidate and os.path.isfile(os.path.join(candidate, "memsnap", "__init__.py")):
            return candidate, candidates
    return None, candidates


def _add_gcore(debugger, internal_dict):
    """Add `gcore` (memsnap_lldb_gcore.py) unless LLDB already has one."""
    import lldb
    import memsnap_lldb_gcore
    internal_dict["memsnap_lldb_gcore"] = memsnap_lldb_gcore
    interpreter = debugger.GetCommandInterpreter()
    if interpreter.CommandExists("gcore") or interpreter.AliasExists("gcore"):
        return
    result = lldb.SBCommandReturnObject()
    interpreter.HandleCommand("command script add -s synchronous "
                              "-c memsnap_lldb_gcore.GcoreCommand gcore", result)


def __lldb_init_module(debugger, internal_dict):
    here = os.path.dirname(os.path.abspath(__file__))
    core, candidates = _core_directory(here)
    if core is None:
        print("error: memsnap: cannot find the memsnap Python package (looked in %s); "
              "set MEMSNAP_PYTHONPATH" % ", ".join(c for c in candidates if c),
              file=sys.stderr)
        return
    for path in (here, core):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        import memsnap
        import memsnap_lldb_commands
        memsnap_lldb_commands.install(debugger, internal_dict)
        _add_gcore(debugger, internal_dict)
    except Exception as e:  # one line, never a traceback at import
        print("error: memsnap: the Python core at %s cannot be loaded: %s: %s"
              % (core, type(e).__name__, e), file=sys.stderr)
        if os.environ.get("MEMSNAP_DEBUG", "") not in ("", "0"):
            import traceback
            traceback.print_exc()
        return
    memsnap._lldb_loaded = True
