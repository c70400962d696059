"""Exports: a snapshot (or the difference of two) in other tools' formats.

Every exporter takes a samples.Profile (python/memsnap/views/export/samples.py)
and an optional base Profile to compare with, and returns the file's
content: pprof (pprof.py, bytes), folded stacks (folded.py), an interactive
SVG flame graph (flamegraph.py) and speedscope JSON (speedscope.py). An
exporter is imported only when used, so a missing optional library (pprof
needs python3-protobuf) fails only that format, with a one-line message.
`format_for_path` guesses a format from an output file's name.
"""

import importlib

from ...errors import MemsnapError

# format -> (module, function); "text" and "json" are the commands' own output.
EXPORTERS = {
    "pprof": ("pprof", "export_pprof"),
    "folded": ("folded", "export_folded"),
    "flamegraph": ("flamegraph", "export_flamegraph"),
    "speedscope": ("speedscope", "export_speedscope"),
}
FORMATS = ("text", "json") + tuple(EXPORTERS)
BINARY_FORMATS = ("pprof",)

# Output file name endings that choose a format when --format is not given.
_ENDINGS = ((".speedscope.json", "speedscope"), (".pb.gz", "pprof"), (".pprof", "pprof"),
            (".svg", "flamegraph"), (".folded", "folded"), (".json", "json"))


def format_for_path(path):
    """The format an output file's name asks for ("text" if none)."""
    name = path.lower()
    for ending, fmt in _ENDINGS:
        if name.endswith(ending):
            return fmt
    return "text"


def export(fmt, profile, base=None):
    """The content (bytes for pprof, else str) of `profile` in format `fmt`."""
    module_name, function_name = EXPORTERS[fmt]
    try:
        module = importlib.import_module("%s.%s" % (__name__, module_name))
    except ImportError as err:
        missing = err.name or str(err)
        hint = " (Debian: python3-protobuf)" if missing.startswith("google") else ""
        raise MemsnapError("--format %s needs the Python module %s%s" % (fmt, missing, hint))
    return getattr(module, function_name)(profile, base)
