"""Source lines for Traceback.format(): from the debugger, else from disk, else as a snapshot file recorded them.

The debugger knows where sources really are (substitute-path, directory
settings), so the active backend is asked first; when there is none, or it
does not know the file, the file is read from disk through linecache.
Returns None when the line cannot be found. A file name that only loaded
snapshot files gave (record()) is never opened nor asked of the debugger — a crafted file must not make memsnap print lines of the
user's files —: its lines are the ones the file recorded. Once this
session's own symbolizer names the file (symbolized()), it is read as
usual.
"""

import linecache

_backend = None
_recorded = {}          # filename -> {lineno: text}, from loaded snapshot files
_only_recorded = set()  # file names that only loaded snapshot files gave
_symbolized = set()     # file names this session's symbolizer gave


def set_backend(backend):
    global _backend
    _backend = backend


def from_disk(filename, lineno, *other_paths):
    """The text of line `lineno` of the first of `filename`, `other_paths`
    that has it, or None; read through the standard linecache, as
    tracemalloc does (memsnap.linecache is that module, for code that
    patches it).

    Also how the debugger backends answer source_line(), given the paths
    their debugger's settings make of a file name."""
    for path in (filename,) + other_paths:
        text = linecache.getline(path, lineno)
        if text:
            return text.rstrip("\r\n")
    return None


def record(sources, filenames):
    """Lines a loaded snapshot file recorded ({filename: {lineno: text}}),
    and the file names it gave."""
    for filename, lines in sources.items():
        _recorded.setdefault(filename, {}).update(lines)
    _only_recorded.update(f for f in filenames if f not in _symbolized)


def symbolized(filename):
    """`filename` came from this session's symbolizer: it may be read."""
    if filename not in _symbolized:
        _symbolized.add(filename)
        _only_recorded.discard(filename)


def get_line(filename, lineno):
    """The text of filename:lineno without its newline, or None."""
    if not filename or not lineno or lineno <= 0:
        return None
    if filename in _only_recorded:
        return _recorded.get(filename, {}).get(lineno)
    if _backend is not None:
        try:
            line = _backend.source_line(filename, lineno)
        except Exception:   # a backend failing to find a file is not an error here
            line = None
        if line is not None:
            return line
    line = from_disk(filename, lineno)
    return line if line is not None else _recorded.get(filename, {}).get(lineno)


def clear_cache():
    """Forget every file read, recorded or symbolized (a new session)."""
    linecache.clearcache()
    for kept in (_recorded, _only_recorded, _symbolized):
        kept.clear()
