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


def _from_disk(filename, lineno):
    lines = _files.get(filename)
    if lines is None:
        try:
            with open(filename, "r", encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except (OSError, ValueError):
            lines = []
        _files[filename] = lines
    if 0 < lineno <= len(lines):
        return lines[lineno - 1]
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
    return _from_disk(filename, lineno)


def clear_cache():
    _files.clear()
