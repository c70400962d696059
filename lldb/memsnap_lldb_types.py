"""What LLDB's debug information says about variables and types, as the plain data of python/memsnap/target/backend.py.

The variable-and-type primitives of the LLDB backend (memsnap_lldb_backend.py):
the global or static variable holding an address (the symbol LLDB resolves
there, then its global variables of that name for the type), every frame's
locals and arguments that live in memory, and a type's members and target
type. Types are handed to the core as backend.DataType with the SBType (and
whether it comes from C) as handle, named as GDB names them; symbols at
data addresses (vtables), types by name, and LLDB's own printer of a value
at an address. Nothing here decides what a path is called or what type a
block has: leaks/retention_names.py and leaks/block_types.py do.
"""

import lldb

from memsnap.target.backend import (TYPE_ARRAY, TYPE_OTHER, TYPE_POINTER, TYPE_STRUCT, TYPE_UNION,
                                    DataType, Member, Variable)

_KINDS = {lldb.eTypeClassPointer: TYPE_POINTER, lldb.eTypeClassStruct: TYPE_STRUCT,
          lldb.eTypeClassClass: TYPE_STRUCT, lldb.eTypeClassUnion: TYPE_UNION,
          lldb.eTypeClassArray: TYPE_ARRAY}
MAX_FRAMES = 256
_C_LANGUAGES = (lldb.eLanguageTypeC, lldb.eLanguageTypeC89, lldb.eLanguageTypeC99,
                lldb.eLanguageTypeC11)


def data_type(sbtype, in_c):
    """A backend.DataType for an SBType of a C (in_c) or other compile unit;
    the handle keeps both."""
    canonical = sbtype.GetCanonicalType()
    return DataType(_type_name(sbtype, in_c), _KINDS.get(canonical.GetTypeClass(), TYPE_OTHER),
                    canonical.GetByteSize(), (sbtype, in_c))


def _type_name(sbtype, in_c):
    """The type's name as GDB spells it: C's "struct entry *" where LLDB
    says "entry *", "char [20]" where it says "char[20]"."""
    type_class = sbtype.GetTypeClass()
    if type_class == lldb.eTypeClassPointer:
        pointee = _type_name(sbtype.GetPointeeType(), in_c)
        return pointee + ("*" if pointee.endswith("*") else " *")
    if type_class == lldb.eTypeClassArray:
        element = sbtype.GetArrayElementType()
        size = element.GetByteSize()
        count = sbtype.GetByteSize() // size if size else 0
        return "%s [%d]" % (_type_name(element, in_c), count)
    name = sbtype.GetDisplayTypeName() or sbtype.GetName() or "?"
    keyword = {lldb.eTypeClassStruct: "struct ", lldb.eTypeClassUnion: "union "}.get(type_class)
    if in_c and keyword and not name.startswith(keyword):
        return keyword + name
    return name


def _declared_in_c(value, module):
    """True when the global variable `value` (of SBModule `module`) is
    declared in a C compile unit: the unit of its declaration's file in its
    module (data addresses belong to no unit's line table)."""
    declared = value.GetDeclaration().GetFileSpec()
    units = [module.GetCompileUnitAtIndex(i) for i in range(module.GetNumCompileUnits())]
    for unit in units:
        spec = unit.GetFileSpec()
        if spec.GetFilename() == declared.GetFilename() and \
                spec.GetDirectory() == declared.GetDirectory():
            return unit.GetLanguage() in _C_LANGUAGES
    return bool(units) and units[0].GetLanguage() in _C_LANGUAGES


def resolve_data_address(target, address):
    """target.ResolveLoadAddress(address), but also in the writable segment
    of a module with thread-local variables: LLDB 14 loads the module's
    PT_TLS segment at the start of that PT_LOAD and then resolves no
    address of the PT_LOAD to a section; the module's own PT_LOAD is asked
    there instead."""
    sbaddress = target.ResolveLoadAddress(address)
    if sbaddress.GetSection().IsValid():
        return sbaddress
    for module, start, size, file_address in _tls_segments(target):
        if start <= address < start + size:
            return module.ResolveFileAddress(file_address + address - start)
    return sbaddress


_TLS_SEGMENTS = {}


def _tls_segments(target):
    """[(module, load address, size, file address)] of the PT_LOAD segments
    that hold a module's PT_TLS segment (memo per target and module count)."""
    key = (target.GetProcess().GetUniqueID(), target.GetNumModules(), str(target.GetExecutable()))
    if key not in _TLS_SEGMENTS:
        _TLS_SEGMENTS.clear()
        found = []
        for module in target.module_iter():
            segments = [(s.GetName() or "", s.GetLoadAddress(target), s.GetByteSize(),
                         s.GetFileAddress()) for s in module.section_iter()]
            tls = [segment for segment in segments if segment[0].startswith("PT_TLS")]
            for name, start, size, file_address in segments:
                if name.startswith("PT_LOAD") and start != lldb.LLDB_INVALID_ADDRESS and \
                        any(start <= t[1] < start + size for t in tls):
                    found.append((module, start, size, file_address))
        _TLS_SEGMENTS[key] = found
    return _TLS_SEGMENTS[key]


def global_variable_at(target, address):
    """The global or static Variable whose storage holds `address`, or None."""
    sbaddress = resolve_data_address(target, address)
    symbol = sbaddress.GetSymbol()
    if not symbol.IsValid() or not symbol.GetName():
        return None
    for name in _candidate_names(symbol):
        values = target.FindGlobalVariables(name, 16)
        for i in range(values.GetSize()):
            value = values.GetValueAtIndex(i)
            start = value.GetLoadAddress()
            if start == lldb.LLDB_INVALID_ADDRESS:
                continue
            variable = Variable(value.GetName(), start,
                                data_type(value.GetType(),
                                          _declared_in_c(value, sbaddress.GetModule())))
            if start <= address < start + max(variable.type.size, 1):
                return variable
    return None


def variable_type(target, name):
    """The DataType of the global variable `name` (thread-locals too, whose
    address LLDB cannot compute), or None."""
    for module in target.module_iter():
        values = module.FindGlobalVariables(target, name, 1)
        if values.GetSize():
            value = values.GetValueAtIndex(0)
            return data_type(value.GetType(), _declared_in_c(value, module))
    return None


def _candidate_names(symbol):
    name = symbol.GetName()
    yield name
    if "." in name:                   # a function's static: "kept.0"
        yield name.split(".", 1)[0]


def stack_variables(process, tid):
    """Every frame's locals and arguments in memory, for thread `tid`,
    innermost frame first."""
    thread = process.GetThreadByID(tid)
    if not thread.IsValid():
        return []
    variables = []
    for level in range(min(thread.GetNumFrames(), MAX_FRAMES)):
        frame = thread.GetFrameAtIndex(level)
        function = frame.GetFunctionName() or ""
        in_c = frame.GetCompileUnit().GetLanguage() in _C_LANGUAGES
        values = frame.GetVariables(True, True, False, True)
        for i in range(values.GetSize()):
            value = values.GetValueAtIndex(i)
            address = value.GetLoadAddress()
            if address != lldb.LLDB_INVALID_ADDRESS:
                variables.append(Variable(value.GetName(), address,
                                          data_type(value.GetType(), in_c), level, function))
    return variables


def type_members(datatype):
    sbtype, in_c = datatype.handle
    canonical = sbtype.GetCanonicalType()
    if canonical.GetTypeClass() not in (lldb.eTypeClassStruct, lldb.eTypeClassClass,
                                        lldb.eTypeClassUnion):
        return []
    members = []
    for i in range(canonical.GetNumberOfDirectBaseClasses()):
        base = canonical.GetDirectBaseClassAtIndex(i)
        members.append(Member(base.GetName() or "", base.GetOffsetInBytes(),
                              data_type(base.GetType(), in_c), True))
    for i in range(canonical.GetNumberOfFields()):
        field = canonical.GetFieldAtIndex(i)
        members.append(Member(field.GetName() or "", field.GetOffsetInBytes(),
                              data_type(field.GetType(), in_c)))
    return members


def type_target(datatype):
    sbtype, in_c = datatype.handle
    canonical = sbtype if sbtype.GetTypeClass() in (lldb.eTypeClassPointer, lldb.eTypeClassArray) \
        else sbtype.GetCanonicalType()
    if canonical.IsPointerType():
        return data_type(canonical.GetPointeeType(), in_c)
    if canonical.IsArrayType():
        return data_type(canonical.GetArrayElementType(), in_c)
    return None


def symbol_at(target, address):
    """(name, start) of the symbol holding `address`, or None."""
    symbol = resolve_data_address(target, address).GetSymbol()
    if not symbol.IsValid() or not symbol.GetName():
        return None
    start = symbol.GetStartAddress().GetLoadAddress(target)
    return (symbol.GetName(), start) if start != lldb.LLDB_INVALID_ADDRESS else None


def lookup_type(target, name):
    found = target.FindFirstType(name)
    if not found.IsValid():
        return None
    return data_type(found, not _is_cplusplus(target))


def _is_cplusplus(target):
    """True when the executable has a C++ compile unit."""
    module = target.GetModuleAtIndex(0)
    return any(module.GetCompileUnitAtIndex(i).GetLanguage() in _CPLUSPLUS
               for i in range(module.GetNumCompileUnits()))


_CPLUSPLUS = (lldb.eLanguageTypeC_plus_plus, lldb.eLanguageTypeC_plus_plus_03,
              lldb.eLanguageTypeC_plus_plus_11, lldb.eLanguageTypeC_plus_plus_14)


def format_value(target, address, datatype, count):
    """LLDB's print of the value (an array of `count`) of the type at `address`."""
    sbtype = datatype.handle[0]
    if count > 1:
        sbtype = sbtype.GetArrayType(count)
    value = target.CreateValueFromAddress("block", lldb.SBAddress(address, target), sbtype)
    stream = lldb.SBStream()
    value.GetDescription(stream)
    return stream.GetData().strip()
