"""Load memsnap into GDB: `source /path/to/memsnap_gdb.py` in any session.

Finds the Python core (python/memsnap in a source tree, or
<datadir>/memsnap/python when installed; MEMSNAP_PYTHONPATH overrides),
puts it and this directory on sys.path so `import memsnap` works inside
gdb, installs the GDB backend and registers the memsnap commands. Loading
it twice is harmless. The runtime (libmemsnap.so) is not loaded into the
program by this script: the memsnap-gdb launcher does that, or set
`set environment LD_PRELOAD=/path/to/libmemsnap.so` before `run`.
"""

import os
import sys

import gdb


def _memsnap_gdb_setup():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("MEMSNAP_PYTHONPATH", ""),
                  os.path.join(os.path.dirname(here), "python")]
    core = next((c for c in candidates
                 if c and os.path.isfile(os.path.join(c, "memsnap", "__init__.py"))), None)
    if core is None:
        raise gdb.GdbError("memsnap: cannot find the memsnap Python package "
                           "(looked in %s); set MEMSNAP_PYTHONPATH"
                           % ", ".join(c for c in candidates if c))
    for path in (here, core):
        if path not in sys.path:
            sys.path.insert(0, path)

    import memsnap
    if getattr(memsnap, "_gdb_loaded", False):
        return
    import memsnap_gdb_backend
    backend = memsnap_gdb_backend.GdbBackend()
    memsnap_gdb_backend.INSTANCE = backend
    try:
        import memsnap_gdb_commands
        memsnap.set_backend(backend)
        memsnap_gdb_commands.register(backend)
    except (ImportError, AttributeError) as e:
        raise gdb.GdbError("memsnap: the Python core at %s is incomplete: %s" % (core, e))
    memsnap._gdb_loaded = True


_memsnap_gdb_setup()
