"""Source lines for Traceback.format(): from the debugger, else from disk.

The debugger knows where sources really are (substitute-path, directory
settings), so the active backend is asked first; when there is none, or it
does not know the file, the file is read from disk (cached per file, like
linecache). Returns None when the line cannot be found.
"""

_backend = None
_files = {}


def set_backend(backend):
    global _backend
    _backend = backend


def _read_lines(path):
    """The lines of the file at `path` (cached), or None if it cannot be read."""
    if path in _files:
        return _files[path]
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except (OSError, ValueError):
        lines = None
    _files[path] = lines
    return lines


def from_disk(filename, lineno, *other_paths):
    """The text of line `lineno` of the first of `filename`, `other_paths`
    that can be read (files are read once, like linecache), or None.

    Also how the debugger backends answer source_line(), given the paths
    their debugger's settings make of a file name."""
    for path in (filename,) + other_paths:
        lines = _read_lines(path)
        if lines is not None:
            return lines[lineno - 1] if 0 < lineno <= len(lines) else None
    return None


def get_line(filename, lineno):
    """The text of filename:lineno without its newline, or None."""
    if not filename or not lineno or lineno <= 0:
        return None
    if _backend is not None:
        try:
            line = _backend.source_line(filename, lineno)
        except Exception:   # a backend failing to find a file is not an error here
            line = None
        if line is not None:
            return line
    return from_disk(filename, lineno)


def clear_cache():
    _files.clear()
