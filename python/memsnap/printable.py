"""Text safe to print on a terminal: control characters shown as escapes.

Everything a command prints, and every error line, can hold strings from
outside memsnap's control — frame names and file names from a snapshot
file, symbol names from the program —; a terminal must never receive their
escape sequences or carriage returns. printable() spells each control
character (C0 but tab and newline, DEL, C1, and the Unicode line
separators and bidirectional overrides) as a Python-style escape. Used by
views/commands.py for output and failures.py for error lines.
"""

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match):
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def printable(text):
    """`text` with every control character escaped (see the module doc)."""
    return _CONTROL.sub(_escape, text)
