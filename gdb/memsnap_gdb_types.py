"""What gdb's debug information says about variables and types, as the plain data of python/memsnap/target/backend.py.

The variable-and-type primitives of the gdb backend (memsnap_gdb_backend.py):
the global or static variable holding an address (gdb's minimal symbol
there, then its full symbol for the type), every frame's locals and
arguments that live in memory, and a type's members and target type.
Types are handed to the core as backend.DataType with the gdb.Type as
handle; symbols at data addresses (vtables), types by name, and gdb's own
printer of a value at an address. Nothing here decides what a path is
called or what type a block has: leaks/retention_names.py and
leaks/block_types.py do.
"""

import contextlib
import re

import gdb

from memsnap.target.backend import (TYPE_ARRAY, TYPE_OTHER, TYPE_POINTER, TYPE_STRUCT, TYPE_UNION,
                                    DataType, Member, Variable)

_KINDS = {gdb.TYPE_CODE_PTR: TYPE_POINTER, gdb.TYPE_CODE_STRUCT: TYPE_STRUCT,
          gdb.TYPE_CODE_UNION: TYPE_UNION, gdb.TYPE_CODE_ARRAY: TYPE_ARRAY}
# "g_table + 8 in section .bss" / "g_cache in section .bss of /path"
_INFO_SYMBOL = re.compile(r"^(.+?)(?: \+ (\d+))? in section (\S+)")
MAX_FRAMES = 256


def data_type(gdb_type):
    """A backend.DataType for a gdb.Type."""
    stripped = gdb_type.strip_typedefs()
    try:
        size = stripped.sizeof if stripped.code != gdb.TYPE_CODE_VOID else 0
    except gdb.error:
        size = 0
    return DataType(str(gdb_type), _KINDS.get(stripped.code, TYPE_OTHER), size, gdb_type)


def _info_symbol(address):
    """(name, offset, section) of gdb's minimal symbol holding `address`, or None."""
    try:
        text = gdb.execute("info symbol 0x%x" % address, to_string=True)
    except gdb.error:
        return None
    match = _INFO_SYMBOL.match(text.strip())
    return (match.group(1), int(match.group(2) or 0), match.group(3)) if match else None


def global_variable_at(address):
    """The global or static Variable whose storage holds `address`, or None."""
    found = _info_symbol(address)
    if found is None or found[2].startswith(".text"):
        return None
    symbol = _data_symbol(found[0])
    if symbol is None:
        return None
    try:
        value = symbol.value()
        start = int(value.address)
    except (gdb.error, TypeError, ValueError):
        return None
    variable = Variable(symbol.name, start, data_type(symbol.type))
    return variable if start <= address < start + max(variable.type.size, 1) else None


def variable_type(name):
    """The DataType of the variable `name` (thread-locals too), or None."""
    symbol = _data_symbol(name)
    return data_type(symbol.type) if symbol is not None else None


def _data_symbol(name):
    for lookup in (gdb.lookup_global_symbol, gdb.lookup_static_symbol):
        try:
            symbol = lookup(name)
        except gdb.error:
            symbol = None
        if symbol is not None and symbol.is_variable:
            return symbol
    return None


def thread_id(thread):
    """The id memsnap knows a gdb.InferiorThread by: its LWP (or tid, or pid)."""
    return thread.ptid[1] or thread.ptid[2] or thread.ptid[0]


@contextlib.contextmanager
def selection_kept():
    """Give back gdb's selected thread and frame after switching threads."""
    selected_thread = gdb.selected_thread()
    try:
        selected_frame = gdb.selected_frame()
    except gdb.error:
        selected_frame = None
    try:
        yield
    finally:
        if selected_thread is not None and selected_thread.is_valid():
            selected_thread.switch()
            if selected_frame is not None and selected_frame.is_valid():
                selected_frame.select()


def stack_variables(tid):
    """Every frame's locals and arguments in memory, for the thread `tid`
    (thread_id), innermost frame first."""
    thread = next((t for t in gdb.selected_inferior().threads()
                   if t.is_valid() and thread_id(t) == tid), None)
    if thread is None:
        return []
    with selection_kept():
        thread.switch()
        return list(_thread_variables())


def _thread_variables():
    try:
        frame = gdb.newest_frame()
    except gdb.error:
        return
    level = 0
    while frame is not None and level < MAX_FRAMES:
        function = frame.name() or ""
        for symbol in _frame_symbols(frame):
            try:
                value = symbol.value(frame)
                address = value.address
            except (gdb.error, RuntimeError):
                continue
            if address is not None:
                yield Variable(symbol.name, int(address), data_type(symbol.type), level, function)
        try:
            frame = frame.older()
        except gdb.error:
            frame = None
        level += 1


def _frame_symbols(frame):
    """The variable and argument symbols of a frame's blocks up to its function."""
    try:
        block = frame.block()
    except RuntimeError:
        return
    seen = set()
    while block is not None:
        for symbol in block:
            if (symbol.is_variable or symbol.is_argument) and symbol.name not in seen:
                seen.add(symbol.name)
                yield symbol
        if block.function is not None:
            break
        block = block.superblock


def type_members(datatype):
    stripped = datatype.handle.strip_typedefs()
    if stripped.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return []
    members = []
    for field in stripped.fields():
        if not hasattr(field, "bitpos") or field.artificial:
            continue  # static members; vtable pointers
        members.append(Member(field.name or "", field.bitpos // 8, data_type(field.type),
                              bool(field.is_base_class)))
    return members


def type_target(datatype):
    stripped = datatype.handle.strip_typedefs()
    if stripped.code not in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY):
        return None
    return data_type(stripped.target())


def symbol_at(address):
    """(name, start) of the minimal symbol holding `address`, or None."""
    found = _info_symbol(address)
    return (found[0], address - found[1]) if found else None


def lookup_type(name):
    try:
        return data_type(gdb.lookup_type(name))
    except gdb.error:
        return None


def format_value(address, datatype, count):
    """gdb's print of the value (an array of `count`) of the type at `address`."""
    gdb_type = datatype.handle
    if count > 1:
        gdb_type = gdb_type.array(count - 1)
    try:
        return str(gdb.Value(address).cast(gdb_type.pointer()).dereference())
    except (gdb.error, gdb.MemoryError, RuntimeError) as err:
        return "<%s>" % err
