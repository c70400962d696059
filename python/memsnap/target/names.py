"""Function names spelled once, as GNU tools (GDB) spell them, whichever debugger found them.

demangle() turns an Itanium linkage name (_Z...) into GNU's spelling with
libstdc++'s __cxa_demangle (the libiberty demangler GDB uses) and, like
GDB's DWARF reader, without the return type GNU prints for template
functions. respell_llvm() turns a name LLVM demangled (LLDB hands inlined
names over only that way) into GNU's spelling. spell() picks between them
for a name a debugger gave. Pure Python (ctypes): no debugger; the unit
tests in tests/unit/python/test_names.py pin every rule.
"""

import ctypes
import ctypes.util
import re

_ANONYMOUS = "(anonymous namespace)"


class _Demangler:
    """__cxa_demangle of the system's libstdc++, loaded on first use."""

    def __init__(self):
        self._function = None
        self._loaded = False
        self._cache = {}

    def _load(self):
        self._loaded = True
        path = ctypes.util.find_library("stdc++") or "libstdc++.so.6"
        try:
            function = getattr(ctypes.CDLL(path), "__cxa_demangle")
        except (OSError, AttributeError):
            return
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.POINTER(ctypes.c_int)]
        self._free = ctypes.CDLL(None).free
        self._free.argtypes = [ctypes.c_void_p]
        self._function = function

    def __call__(self, mangled):
        if mangled in self._cache:
            return self._cache[mangled]
        if not self._loaded:
            self._load()
        text = None
        if self._function is not None:
            status = ctypes.c_int(0)
            pointer = self._function(mangled.encode(), None, None, ctypes.byref(status))
            if pointer and status.value == 0:
                text = ctypes.string_at(pointer).decode("utf-8", "replace")
                self._free(pointer)
        self._cache[mangled] = text
        return text


_gnu_demangle = _Demangler()


def demangle(mangled):
    """GNU's spelling of an Itanium linkage name, or None if it is not one."""
    if not mangled or not mangled.startswith("_Z"):
        return None
    base, at, version = mangled.partition("@")
    text = _gnu_demangle(base)
    if text is None:
        return None
    return drop_template_return_type(text) + at + version


def spell(name, cplusplus=False):
    """The GNU spelling of a function name a debugger gave: a linkage name
    demangled, a C++ name LLVM demangled respelled, any other name as is."""
    if not name:
        return None
    if name.startswith("_Z"):
        return demangle(name) or name
    if " " not in name and "<" not in name:
        return name     # nothing to respell (and cplusplus, maybe costly, not asked)
    return respell_llvm(name) if cplusplus else name


def respell_llvm(name):
    """Respell an LLVM-demangled C++ name as GNU does."""
    # LLVM writes operator< with template arguments "operator<<T>" and
    # operator<< with them "operator<<<T>"; GNU puts a space before the "<".
    if "operator<<<" in name:
        name = name.replace("operator<<<", "operator<< <")
    else:
        name = re.sub(r"operator<<(?=[A-Za-z_:])", "operator< <", name)
    return drop_template_return_type(name)


def has_parameter_list(name):
    """True for 'f(int)', 'operator()(int) const'; False for 'f', 'operator()'."""
    stripped = name
    for qualifier in (" const", " volatile", " &&", " &"):
        if stripped.endswith(qualifier):
            stripped = stripped[:-len(qualifier)]
    return stripped.endswith(")") and not stripped.endswith("operator()")


def drop_template_return_type(name):
    """'int* f<int>(int)' -> 'f<int>(int)' (GDB's DMGL_RET_DROP).

    GNU prints a return type only for template functions: whatever precedes
    the last space outside brackets before the argument list. Operator
    names and "(anonymous namespace)" are skipped as units.
    """
    split = _return_type_end(name)
    if split < 0:
        return name
    head = name[split + 1:]
    if head.startswith(("const", "volatile", "&", "*", "[")):
        return name
    return head


def _return_type_end(name):
    """Index of the last space outside brackets before the argument list, or -1."""
    depth = 0
    split = -1
    i = 0
    n = len(name)
    while i < n:
        if name.startswith(_ANONYMOUS, i):
            i += len(_ANONYMOUS)
            continue
        if name.startswith("operator", i) and (i == 0 or not (name[i - 1].isalnum() or name[i - 1] == "_")):
            i = _skip_operator(name, i + len("operator"))
            continue
        ch = name[i]
        if ch == "(" and depth == 0:
            break
        if ch in "<({[":
            depth += 1
        elif ch in ">)}]":
            depth -= 1
        elif ch == " " and depth == 0:
            split = i
        i += 1
    return split


def _skip_operator(name, i):
    """The index after the operator symbol starting at `i` (after "operator")."""
    n = len(name)
    if name.startswith(("()", "[]"), i):
        return i + 2
    if i < n and name[i] == " ":
        match = re.match(r" [A-Za-z_][A-Za-z0-9_]*(\[\])?", name[i:])
        return i + (match.end() if match else 1)
    while i < n and name[i] in "<>=!+-*/%^&|~,":
        i += 1
    if name.startswith(" <", i):   # "operator< <T>"
        i += 1
    return i
