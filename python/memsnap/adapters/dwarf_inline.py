"""The chain of inlined functions at a code address, read from an ELF file's DWARF.

A debugger adapter asks this when its debugger has no function for an
address whose module has DWARF: LLDB 14 builds no Function for a subprogram
split by GCC into a hot and a `.cold` part (DW_AT_ranges with two ranges),
so it loses every inlined level there. Given the ELF file that holds the
DWARF (the module, or its separate debug file) and a file address,
InlineChainReader.chain() returns the levels innermost first: the name of
each function (linkage names demangled by the caller's demangler, as GDB
names them) and, for every level but the innermost, the call site
(DW_AT_call_file / DW_AT_call_line of the inlined instance) the caller is
at; InlineChainReader.line_at() gives the innermost level's line as GDB
reads the line table (where rows share an address, LLDB takes the last row
and GDB the last is_stmt one). Only the compilation unit holding the
address is read (found through .debug_aranges, else through the units'
ranges), and each unit's functions and line rows are indexed once. Uses
pyelftools; without it, or on any malformed input or a name it cannot
spell exactly as GDB does, the answer is None (the caller keeps what its
debugger said). Never imports gdb or lldb.
"""

import bisect
import os
from collections import namedtuple

try:
    from elftools.elf.elffile import ELFFile
    from elftools.common.exceptions import ELFError, DWARFError
    AVAILABLE = True
except ImportError:          # pragma: no cover - depends on the system
    ELFFile = None
    ELFError = DWARFError = Exception
    AVAILABLE = False

# One level of a chain: the function's name (None if it has none), and the
# source position in it of the level inside it (None/0 for the innermost,
# whose position is the line table's).
InlineLevel = namedtuple("InlineLevel", "function filename lineno")

_CPLUSPLUS_LANGUAGES = {0x04, 0x19, 0x1a, 0x21}   # DW_LANG_C_plus_plus{,_03,_11,_14}
_SCOPE_TAGS = ("DW_TAG_namespace", "DW_TAG_structure_type", "DW_TAG_class_type",
               "DW_TAG_union_type")
_BLOCK_TAGS = ("DW_TAG_lexical_block", "DW_TAG_inlined_subroutine")


class _Unsupported(Exception):
    """Something this reader cannot name exactly: give no answer."""


class InlineChainReader:
    """Inline chains of one ELF file's DWARF, with per-unit caches.

    `demangle(linkage_name)` returns the name to print for a linkage name
    (or None when it is not one it can demangle)."""

    def __init__(self, path, demangle):
        self._path = path
        self._demangle = demangle
        self._file = None
        self._dwarf = None
        self._aranges = None
        self._unit_ranges = None     # sorted [(low, high, cu offset)] when no aranges
        self._units = {}             # cu offset -> _UnitIndex (or None if unusable)
        self._opened = False

    @staticmethod
    def has_dwarf(path):
        """True when `path` is an ELF file with a .debug_info section."""
        if not AVAILABLE or not path:
            return False
        try:
            with open(path, "rb") as stream:
                elf = ELFFile(stream)
                section = elf.get_section_by_name(".debug_info")
                return section is not None and section.header.sh_type != "SHT_NOBITS" \
                    and section.data_size > 0
        except (OSError, ELFError, DWARFError, ValueError, KeyError, AttributeError):
            return False

    def chain(self, file_address):
        """[InlineLevel] innermost first for `file_address`, or None."""
        try:
            unit = self._unit_for(file_address)
            if unit is None:
                return None
            return unit.chain(file_address)
        except _Unsupported:
            return None
        except Exception:           # pyelftools raises many kinds on bad input
            return None

    def line_at(self, file_address):
        """(file, line) of `file_address` by GDB's reading of the line
        table, or None."""
        try:
            unit = self._unit_for(file_address)
            return unit.line_at(file_address) if unit is not None else None
        except Exception:           # pyelftools raises many kinds on bad input
            return None

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    # ---- finding the unit ----

    def _open(self):
        if not self._opened:
            self._opened = True
            if not AVAILABLE:
                return None
            self._file = open(self._path, "rb")
            elf = ELFFile(self._file)
            if not elf.has_dwarf_info():
                return None
            self._dwarf = elf.get_dwarf_info()
            try:
                self._aranges = self._dwarf.get_aranges()
            except Exception:
                self._aranges = None
        return self._dwarf

    def _unit_for(self, address):
        dwarf = self._open()
        if dwarf is None:
            return None
        if self._aranges is not None and self._aranges.entries:
            # Trusted when present: scanning every unit of a large debug
            # file (libc's) for an address no unit covers would cost seconds.
            offset = self._aranges.cu_offset_at_addr(address)
        else:
            offset = self._unit_by_ranges(address)
        if offset is None:
            return None
        if offset not in self._units:
            cu = dwarf.get_CU_at(offset)
            self._units[offset] = _UnitIndex(cu, dwarf, self._demangle)
        return self._units[offset]

    def _unit_by_ranges(self, address):
        """CU offset from the units' own ranges (files without .debug_aranges)."""
        if self._unit_ranges is None:
            ranges = []
            for cu in self._dwarf.iter_CUs():
                top = cu.get_top_DIE()
                for low, high in _die_ranges(top, self._dwarf, cu):
                    ranges.append((low, high, cu.cu_offset))
            ranges.sort()
            self._unit_ranges = ranges
        for low, high, offset in self._unit_ranges:
            if low <= address < high:
                return offset
        return None


class _UnitIndex:
    """One compilation unit: its functions' ranges, file table and names."""

    def __init__(self, cu, dwarf, demangle):
        self._cu = cu
        self._dwarf = dwarf
        self._demangle = demangle
        top = cu.get_top_DIE()
        language = top.attributes.get("DW_AT_language")
        self._cplusplus = language is not None and language.value in _CPLUSPLUS_LANGUAGES
        comp_dir = top.attributes.get("DW_AT_comp_dir")
        self._comp_dir = _text(comp_dir.value) if comp_dir is not None else ""
        self._files = None
        self._sequences = None       # [(start, end, rows)] of the line program
        self._names = {}             # DIE offset -> name
        self._tables = {}            # sequence index -> GDB's per-file rows
        self._functions = None
        self._starts = None

    def _index_functions(self):
        functions = []
        self._collect_functions(self._cu.get_top_DIE(), functions)
        functions.sort(key=lambda item: item[0])
        self._functions = functions
        self._starts = [item[0] for item in functions]

    def _collect_functions(self, parent, out):
        for die in parent.iter_children():
            if die.tag == "DW_TAG_subprogram":
                for low, high in _die_ranges(die, self._dwarf, self._cu):
                    out.append((low, high, die))
            elif die.tag == "DW_TAG_namespace":
                self._collect_functions(die, out)

    def chain(self, address):
        function = self._function_at(address)
        if function is None:
            return None
        inlined = []
        block = function
        while True:
            inner = self._child_block_at(block, address)
            if inner is None:
                break
            if inner.tag == "DW_TAG_inlined_subroutine":
                inlined.append(inner)
            block = inner
        levels = []
        filename, lineno = None, 0
        for die in reversed(inlined):
            levels.append(InlineLevel(self._name(die), filename, lineno))
            call_file = self._call_file(die)
            call_line = die.attributes.get("DW_AT_call_line")
            filename = call_file or filename
            lineno = call_line.value if call_line is not None else 0
        levels.append(InlineLevel(self._name(function), filename, lineno))
        return levels

    def _function_at(self, address):
        if self._functions is None:
            self._index_functions()
        i = bisect.bisect_right(self._starts, address) - 1
        # Ranges of different functions do not overlap, but one function's
        # ranges are listed apart: look back over the few starting earlier.
        while i >= 0:
            low, high, die = self._functions[i]
            if low <= address < high:
                return die
            if low < address - (1 << 24):
                break
            i -= 1
        return None

    def _child_block_at(self, parent, address):
        """The child block (inlined call or lexical block) of `parent` holding
        `address`; a lexical block without ranges is looked through."""
        for die in parent.iter_children():
            if die.tag not in _BLOCK_TAGS:
                continue
            ranges = _die_ranges(die, self._dwarf, self._cu)
            if not ranges:
                if die.tag == "DW_TAG_lexical_block":
                    inner = self._child_block_at(die, address)
                    if inner is not None:
                        return inner
                continue
            for low, high in ranges:
                if low <= address < high:
                    return die
        return None

    # ---- lines ----

    def line_at(self, address):
        """(file, line) GDB's line table gives for `address`, or None when
        there is none or it cannot be told for certain.

        Replays, for the row sequence holding the address, how GDB records
        rows (one table per file; a change of file ends the previous file's
        rows at that address; a non-statement row at an address that had a
        statement row is dropped on a change of file), then looks up as GDB
        does: the file whose last row at or before the address is latest,
        and a non-statement row yields to a statement row at its address."""
        found = self._sequence_at(address)
        if found is None:
            return None
        index, sequence = found
        tables = self._tables.get(index)
        if tables is None:
            tables = self._tables[index] = self._gdb_tables(sequence)
        best = None
        for file_index, (entries, pcs) in tables.items():
            prev = bisect.bisect_right(pcs, address) - 1
            if prev < 0:
                continue
            pc = pcs[prev]
            if best is not None and pc < best[0]:
                continue
            if best is not None and pc == best[0]:
                if entries[prev][1] == 0:
                    continue
                if best[2][best[3]][1] != 0:
                    return None          # two files' rows at one address: GDB's pick depends on its symtab order
            best = (pc, file_index, entries, prev)
        if best is None:
            return None
        _, file_index, entries, i = best
        if not entries[i][2]:
            j = i
            while j > 0 and entries[j - 1][0] == entries[j][0] and entries[j - 1][1] != 0 \
                    and not entries[j][2]:
                j -= 1
            if entries[j][2]:
                i = j
        line = entries[i][1]
        if not line or not isinstance(file_index, str):
            return None
        return file_index, line

    def _gdb_tables(self, sequence):
        """{file: (rows, their addresses)} as GDB records one row sequence
        (one table per file name: two entries of the file table may name
        the same file, as DWARF 5's 0 and 1 do)."""
        files = self._file_table()
        tables = {}
        last_file, last_address, stmt_at_address = None, None, False
        for row_address, number, line, is_stmt, end in sequence:
            file_index = files.get(number, number)
            if end:
                if last_file is not None:
                    _record(tables.setdefault(last_file, []), row_address, 0, False)
                break
            file_changed = file_index != last_file
            ignore = (file_changed and last_address == row_address and not is_stmt
                      and stmt_at_address) or line == 0
            if not ignore:
                if file_changed and last_file is not None:
                    _record(tables.setdefault(last_file, []), row_address, 0, False)
                _record(tables.setdefault(file_index, []), row_address, line, is_stmt)
                last_file = file_index
            if last_address != row_address:
                stmt_at_address, last_address = False, row_address
            stmt_at_address = stmt_at_address or is_stmt
        out = {}
        for file_index, entries in tables.items():
            entries.sort(key=lambda entry: (entry[0], entry[1] != 0))
            out[file_index] = (entries, [entry[0] for entry in entries])
        return out

    def _sequence_at(self, address):
        if self._sequences is None:
            sequences = []
            program = self._dwarf.line_program_for_CU(self._cu)
            current = []
            for entry in (program.get_entries() if program is not None else ()):
                state = entry.state
                if state is None:
                    continue
                current.append((state.address, state.file, state.line, bool(state.is_stmt),
                                bool(state.end_sequence)))
                if state.end_sequence:
                    sequences.append((current[0][0], state.address, current))
                    current = []
            sequences.sort(key=lambda item: item[0])
            self._sequences = sequences
            self._sequence_starts = [item[0] for item in sequences]
        i = bisect.bisect_right(self._sequence_starts, address) - 1
        while i >= 0:
            start, end, rows = self._sequences[i]
            if start <= address < end:
                return i, rows
            i -= 1
            if i >= 0 and self._sequences[i][0] < address - (1 << 24):
                break
        return None

    # ---- names ----

    def _name(self, die):
        name = self._names.get(die.offset)
        if name is None:
            name = self._names[die.offset] = self._compute_name(die)
        return name

    def _compute_name(self, die):
        """GDB's name of a function DIE: its demangled linkage name, else its
        (qualified, and in C++ parameterized) DW_AT_name."""
        origins = _origin_chain(die)
        for each in origins:
            attr = each.attributes.get("DW_AT_linkage_name") \
                or each.attributes.get("DW_AT_MIPS_linkage_name")
            if attr is not None:
                demangled = self._demangle(_text(attr.value))
                if demangled:
                    return demangled
                raise _Unsupported()
        named = next((each for each in origins if "DW_AT_name" in each.attributes), None)
        if named is None:
            return None
        name = _text(named.attributes["DW_AT_name"].value)
        if not self._cplusplus:
            return name
        scope = _scope_prefix(origins[-1])
        if die.tag != "DW_TAG_subprogram":
            # GDB adds the parameter list to the name of a function's own
            # DIE, not to an inlined instance's (a lambda's "operator()").
            return scope + name
        with_parameters = next((each for each in origins
                                if any(child.tag == "DW_TAG_formal_parameter"
                                       for child in each.iter_children())), origins[-1])
        return scope + name + self._parameter_list(with_parameters)

    def _parameter_list(self, die):
        names = []
        const = False
        for child in die.iter_children():
            if child.tag == "DW_TAG_unspecified_parameters":
                names.append("...")
            if child.tag != "DW_TAG_formal_parameter":
                continue
            if "DW_AT_artificial" in child.attributes:
                # `this`: a pointer to a const class makes a const method.
                this_type = _type_of(child)
                pointee = _type_of(this_type) if this_type is not None else None
                const = pointee is not None and pointee.tag == "DW_TAG_const_type"
                continue
            names.append(_type_name(_type_of(child)))
        return "(%s)%s" % (", ".join(names), " const" if const else "")

    # ---- files ----

    def _call_file(self, die):
        attr = die.attributes.get("DW_AT_call_file")
        if attr is None:
            return None
        files = self._file_table()
        return files.get(attr.value)

    def _file_table(self):
        if self._files is None:
            files = {}
            program = self._dwarf.line_program_for_CU(self._cu)
            if program is not None:
                version = program.header["version"]
                directories = [_text(d) for d in program.header["include_directory"]]
                entries = program.header["file_entry"]
                for index, entry in enumerate(entries):
                    number = index if version >= 5 else index + 1
                    files[number] = self._full_path(version, directories, entry)
            self._files = files
        return self._files

    def _full_path(self, version, directories, entry):
        name = _text(entry.name)
        if os.path.isabs(name):
            return name
        dir_index = entry.dir_index
        if version >= 5:
            directory = directories[dir_index] if dir_index < len(directories) else ""
        else:
            directory = directories[dir_index - 1] if 0 < dir_index <= len(directories) \
                else self._comp_dir
        if not os.path.isabs(directory):
            directory = os.path.join(self._comp_dir, directory)
        return os.path.join(directory, name)


# ---- DIE helpers ----

def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _die_ranges(die, dwarf, cu):
    """[(low, high)] of a DIE's code, from low/high pc or DW_AT_ranges."""
    attrs = die.attributes
    low = attrs.get("DW_AT_low_pc")
    if "DW_AT_ranges" in attrs:
        ranges_attr = attrs["DW_AT_ranges"]
        if ranges_attr.form == "DW_FORM_rnglistx":
            raise _Unsupported()
        lists = dwarf.range_lists()
        if lists is None:
            raise _Unsupported()
        base = _unit_base(cu)
        out = []
        for entry in lists.get_range_list_at_offset(ranges_attr.value, cu=cu):
            if hasattr(entry, "base_address"):
                base = entry.base_address
                continue
            if entry.is_absolute:
                start, end = entry.begin_offset, entry.end_offset
            else:
                start, end = base + entry.begin_offset, base + entry.end_offset
            if end > start:
                out.append((start, end))
        return out
    high = attrs.get("DW_AT_high_pc")
    if low is None or high is None:
        return []
    start = low.value
    end = high.value if high.form == "DW_FORM_addr" else start + high.value
    return [(start, end)] if end > start else []


def _record(entries, address, line, is_stmt):
    """Append a row to a file's table as GDB does: an end marker (line 0)
    first drops the rows already at its address."""
    if line == 0:
        last_line = None
        while entries:
            last_line = entries[-1][1]
            if entries[-1][0] != address:
                break
            entries.pop()
        if not last_line:
            return
    entries.append((address, line, is_stmt))


def _unit_base(cu):
    low = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
    return low.value if low is not None else 0


def _origin_chain(die):
    """The DIE, then what its DW_AT_abstract_origin / DW_AT_specification lead to."""
    chain = [die]
    seen = {die.offset}
    current = die
    while True:
        for attr in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if attr in current.attributes:
                current = current.get_DIE_from_attribute(attr)
                break
        else:
            return chain
        if current.offset in seen:
            return chain
        seen.add(current.offset)
        chain.append(current)


def _scope_prefix(die):
    """"ns::Class::" of the namespaces and classes around a declaration; as
    in GDB, none for a member of an unnamed class (a lambda's closure)."""
    parts = []
    parent = die.get_parent()
    while parent is not None and parent.tag in _SCOPE_TAGS:
        attr = parent.attributes.get("DW_AT_name")
        if attr is None:
            if parent.tag != "DW_TAG_namespace":
                if not parts:
                    return ""
                raise _Unsupported()
            parts.append("(anonymous namespace)")
        else:
            parts.append(_text(attr.value))
        parent = parent.get_parent()
    return "".join(part + "::" for part in reversed(parts))


def _type_of(die):
    if die is None or "DW_AT_type" not in die.attributes:
        return None
    return die.get_DIE_from_attribute("DW_AT_type")


def _type_name(die):
    """A parameter type spelled as GNU's demangler spells it ("char const*"),
    for the kinds of types whose spelling is certain; else _Unsupported."""
    if die is None:
        return "void"
    tag = die.tag
    if tag in ("DW_TAG_base_type", "DW_TAG_structure_type",
               "DW_TAG_class_type", "DW_TAG_union_type", "DW_TAG_enumeration_type"):
        attr = die.attributes.get("DW_AT_name")
        if attr is None:
            raise _Unsupported()
        scope = _scope_prefix(die) if tag != "DW_TAG_base_type" else ""
        return scope + _text(attr.value)
    if tag == "DW_TAG_pointer_type":
        return _type_name(_type_of(die)) + "*"
    if tag == "DW_TAG_reference_type":
        return _type_name(_type_of(die)) + "&"
    if tag == "DW_TAG_rvalue_reference_type":
        return _type_name(_type_of(die)) + "&&"
    if tag == "DW_TAG_const_type":
        return _type_name(_type_of(die)) + " const"
    if tag == "DW_TAG_volatile_type":
        return _type_name(_type_of(die)) + " volatile"
    raise _Unsupported()
