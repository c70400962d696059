"""What gdb knows about a code address, as the core's Locations (memsnap_gdb_backend.py's symbolize).

The levels are gdb's blocks from the innermost function out: each inlined
instance at the line of its call site (gdb gives an inlined instance's
symbol DW_AT_call_file/DW_AT_call_line), then the real function; without
debug information, the name of the ELF symbol holding the address (the
dynamic ones in a stripped object), spelled by the core
(python/memsnap/target/names.py). File names are gdb's full names, so
substitute-path applies. The module is gdb's shared library name (None for
the main program: the core finds it, and every load base, from the regions).
"""

import re

import gdb

from memsnap.target import names
from memsnap.target.backend import Location

_FORMAT_ADDRESS = re.compile(r"<(.+?)(\+(\d+))?>$")


def locations(address):
    """The Locations of `address`, innermost inlined level first."""
    try:
        module = gdb.solib_name(address)
    except (gdb.error, RuntimeError):
        module = None
    try:
        block = gdb.block_for_pc(address)
    except RuntimeError:
        block = None
    try:
        sal = gdb.find_pc_line(address)
    except (gdb.error, RuntimeError):
        sal = None
    filename = _fullname(sal.symtab) if sal is not None and sal.symtab is not None else None
    lineno = sal.line if filename else 0
    levels = []
    while block is not None and not block.is_static and not block.is_global:
        function = block.function
        if function is not None:
            levels.append((function.print_name, filename, lineno))
            if not _is_inlined(block):
                break
            symtab = function.symtab
            filename = (_fullname(symtab) if symtab is not None else None) or filename
            lineno = function.line or 0
        block = block.superblock
    if not levels:
        levels = [(_minimal_name(address), filename, lineno)]
    return [Location(function, path, line, module, None, address)
            for function, path, line in levels]


def _is_inlined(block):
    """True when a function block is an inlined instance, not a real function.

    gdb 13's Block does not say; an inlined instance lies inside the code of
    the function block enclosing it, while a function merely nested in
    another one's scope (a C++ lambda's operator(), a GNU C nested function)
    has code of its own outside it."""
    superblock = block.superblock
    while superblock is not None:
        if superblock.function is not None:
            return superblock.start <= block.start and block.end <= superblock.end
        if superblock.is_static or superblock.is_global:
            return False
        superblock = superblock.superblock
    return False


def _minimal_name(address):
    """Function name from the ELF symbol tables (dynamic ones in a stripped object)."""
    try:
        match = _FORMAT_ADDRESS.search(gdb.format_address(address))
    except (AttributeError, gdb.error, RuntimeError, ValueError):
        return None
    return names.spell(match.group(1)) if match else None


def _fullname(symtab):
    try:
        return symtab.fullname()
    except (RuntimeError, gdb.error):
        return symtab.filename
