"""`gcore FILE` for LLDB: write an ELF core dump of a stopped live Linux x86-64 process.

LLDB 14 cannot save an ELF core (`process save-core` only writes a
stack-only minidump on Linux), so memsnap-lldb adds GDB's `gcore`: it
writes what the kernel writes — a PT_NOTE segment (NT_PRPSINFO, one
NT_PRSTATUS per thread with its registers from LLDB, NT_AUXV, NT_FILE)
and one PT_LOAD per mapping of /proc/PID/maps with the mapping's bytes
read from /proc/PID/mem — so GDB, LLDB and memsnap open the result like a
kernel core or a GDB gcore. A private mapping the program made unreadable
(mprotect PROT_NONE) keeps its bytes when it holds written pages, as in a
kernel core (its flags stay empty); other unreadable mappings ([vvar],
untouched guard pages) are written with no bytes (p_filesz 0). Raises
memsnap.errors exceptions.
"""

import os
import struct

import lldb

from memsnap import errors, failures
from memsnap.target import elf, procmaps
from memsnap.target.elf import ET_CORE, PF_R, PF_W, PF_X, PT_LOAD, PT_NOTE

_PAGE = 4096
_EM_X86_64 = 62
_NT_PRSTATUS, _NT_PRPSINFO, _NT_AUXV, _NT_FILE = 1, 3, 6, 0x46494C45
_CHUNK = 1 << 20

# struct user_regs_struct, in order (elf_gregset_t of x86-64).
_GREGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
          "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "rflags",
          "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")


def _note(kind, desc, name=b"CORE"):
    name += b"\0"
    header = struct.pack("<III", len(name), len(desc), kind)
    return header + name + b"\0" * (-len(name) % 4) + desc + b"\0" * (-len(desc) % 4)


def _registers(thread):
    values = {}
    frame = thread.GetFrameAtIndex(0)
    for regset in frame.GetRegisters() if frame.IsValid() else ():
        for reg in regset:
            if reg.GetName() in _GREGS and reg.GetName() not in values:
                error = lldb.SBError()
                value = reg.GetValueAsUnsigned(error, 0)
                if error.Success():
                    values[reg.GetName()] = value
    return [values.get(name, 0) & 0xFFFFFFFFFFFFFFFF for name in _GREGS]


def _prstatus(thread, pid, ppid, signo):
    regs = _registers(thread)
    head = struct.pack("<iiih2xQQiiii", signo, 0, 0, signo, 0, 0,
                       thread.GetThreadID(), ppid, pid, pid)
    times = b"\0" * 64
    return head + times + struct.pack("<27Q", *regs) + struct.pack("<i4x", 1)


def _status_field(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split()[1:]
    except OSError:
        pass
    return []


def _prpsinfo(pid, ppid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().replace(b"\0", b" ").strip()
        with open("/proc/%d/comm" % pid, "rb") as f:
            comm = f.read().strip()
    except OSError:
        args, comm = b"", b""
    uid = int((_status_field(pid, "Uid") or ["0"])[0])
    gid = int((_status_field(pid, "Gid") or ["0"])[0])
    return struct.pack("<bbbb4xQIIiiii16s80s", ord("t"), ord("t"), 0, 0, 0,
                       uid, gid, pid, ppid, pid, pid, comm[:15], args[:79])


def _mappings(pid):
    """The process's procmaps.Mapping list, without [vsyscall] (not in cores)."""
    return [m for m in procmaps.read_mappings(pid) if m.name != "[vsyscall]"]


def _written_private_mappings(pid):
    """Starts of the private mappings holding anonymous (written) pages, from
    /proc/PID/smaps: the kernel dumps such a mapping even when unreadable."""
    written = set()
    start = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                mapping = procmaps.parse_line(line) if not line[0].isupper() else None
                if mapping is not None:
                    start = mapping.start if mapping.perms[3] == "p" else None
                elif line.startswith("Anonymous:") and start is not None and int(line.split()[1]):
                    written.add(start)
    except (OSError, ValueError, IndexError):
        pass
    return written


def _dumped(perms, start, written):
    """Whether a mapping's bytes go into the core (see the module doc)."""
    return perms[0] == "r" or start in written


def _readable_bytes(mem, start, end):
    """The mapping's bytes, or None when any page cannot be read."""
    chunks = []
    address = start
    while address < end:
        size = min(_CHUNK, end - address)
        try:
            data = os.pread(mem.fileno(), size, address)
        except OSError:
            return None
        if len(data) != size:
            return None
        chunks.append(data)
        address += size
    return b"".join(chunks)


def _breakpoint_bytes(process):
    """{address: original byte} under LLDB's software breakpoints, which
    /proc/PID/mem shows as int3 (LLDB's own reads hide them)."""
    target = process.GetTarget()
    originals = {}
    for breakpoint in target.breakpoint_iter():
        for i in range(breakpoint.GetNumLocations()):
            location = breakpoint.GetLocationAtIndex(i)
            address = location.GetLoadAddress()
            if address == lldb.LLDB_INVALID_ADDRESS or not location.IsResolved():
                continue
            error = lldb.SBError()
            data = process.ReadMemory(address, 1, error)
            if error.Success() and data:
                originals[address] = data
    return originals


def _restore(data, start, originals):
    patched = None
    for address, byte in originals.items():
        if start <= address < start + len(data):
            if patched is None:
                patched = bytearray(data)
            patched[address - start] = byte[0]
    return bytes(patched) if patched is not None else data


def write_core(process, path):
    """Write an ELF core of the stopped local live `process` to `path`."""
    if not process.IsValid() or process.GetState() != lldb.eStateStopped:
        raise errors.NoTargetError("gcore needs a stopped process")
    if process.GetPluginName() in ("elf-core", "minidump", "mach-core"):
        raise errors.NotLiveError("gcore needs a live process, not a core dump")
    pid = process.GetProcessID()
    try:
        mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
        maps = _mappings(pid)
        written = _written_private_mappings(pid)
        with open("/proc/%d/auxv" % pid, "rb") as f:
            auxv = f.read()
    except OSError as e:
        raise errors.MemsnapError("gcore: cannot read process %d: %s" % (pid, e.strerror))
    ppid = int((_status_field(pid, "PPid") or ["0"])[0])
    originals = _breakpoint_bytes(process)

    notes = [_note(_NT_PRPSINFO, _prpsinfo(pid, ppid))]
    selected = process.GetSelectedThread()
    threads = [selected] + [t for t in process
                            if t.GetThreadID() != selected.GetThreadID()]
    for thread in threads:
        signo = 0
        if thread.GetStopReason() == lldb.eStopReasonSignal:
            signo = thread.GetStopReasonDataAtIndex(0)
        notes.append(_note(_NT_PRSTATUS, _prstatus(thread, pid, ppid, signo or 19)))
    notes.append(_note(_NT_AUXV, auxv))
    files = [m for m in maps if m.name.startswith("/")]
    file_desc = struct.pack("<QQ", len(files), _PAGE)
    file_desc += b"".join(struct.pack("<QQQ", s, e, o // _PAGE) for s, e, _, o, _ in files)
    file_desc += b"".join(m.name.encode() + b"\0" for m in files)
    notes.append(_note(_NT_FILE, file_desc))
    note_data = b"".join(notes)

    phnum = 1 + len(maps)
    header_size = elf.ELF_HEADER.size + elf.PROGRAM_HEADER.size * phnum
    note_offset = header_size
    data_offset = (note_offset + len(note_data) + _PAGE - 1) // _PAGE * _PAGE
    try:
        with open(path, "wb") as out:
            out.seek(data_offset)
            segments = []
            offset = data_offset
            for start, end, perms, _, _ in maps:
                data = _readable_bytes(mem, start, end) if _dumped(perms, start, written) else None
                if data is not None:
                    data = _restore(data, start, originals)
                flags = ((PF_R if perms[0] == "r" else 0) | (PF_W if perms[1] == "w" else 0)
                         | (PF_X if perms[2] == "x" else 0))
                filesz = len(data) if data is not None else 0
                segments.append(elf.PROGRAM_HEADER.pack(PT_LOAD, flags, offset, start, 0,
                                                        filesz, end - start, _PAGE))
                if data:
                    out.write(data)
                    offset += filesz
            out.seek(0)
            ident = elf.ELF_MAGIC + bytes([2, 1, 1, 0]) + b"\0" * 8
            out.write(elf.ELF_HEADER.pack(ident, ET_CORE, _EM_X86_64, 1, 0, elf.ELF_HEADER.size,
                                          0, 0, elf.ELF_HEADER.size, elf.PROGRAM_HEADER.size,
                                          phnum, 0, 0, 0))
            out.write(elf.PROGRAM_HEADER.pack(PT_NOTE, 0, note_offset, 0, 0,
                                              len(note_data), 0, 4))
            out.write(b"".join(segments))
            out.write(note_data)
    except OSError as e:
        raise errors.MemsnapError("gcore: cannot write %s: %s" % (path, e.strerror))
    finally:
        mem.close()


class GcoreCommand:
    """Write a core file of the stopped process: gcore [FILE] (default core.PID)."""

    def __init__(self, debugger, internal_dict):
        pass

    def get_short_help(self):
        return "Write an ELF core file of the stopped process (like GDB's gcore)."

    def get_long_help(self):
        return ("gcore [FILE]\nWrite an ELF core dump of the stopped live process to FILE "
                "(default core.PID), readable by LLDB, GDB and memsnap.\n"
                "Added by memsnap because LLDB 14 cannot save ELF cores.")

    def __call__(self, debugger, command, exe_ctx, result):
        try:
            process = debugger.GetSelectedTarget().GetProcess()
            path = command.strip() or "core.%d" % process.GetProcessID()
            if path[:1] in "\"'" and path[-1:] == path[:1] and len(path) > 1:
                path = path[1:-1]
            write_core(process, path)
            result.Print("Saved corefile %s\n" % path)
        except Exception as e:  # never escape into lldb
            result.SetError(failures.failure_message("gcore", e))
