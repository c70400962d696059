"""A test-only Backend over a stopped live process, through /proc and no debugger.

Memory comes from /proc/PID/mem, regions from /proc/PID/maps, `memsnap_root`
from libmemsnap.so's .dynsym (elf_symbols.py) plus its load address, and
symbolization from elfutils' `eu-addr2line` (or binutils' `addr2line`) run
on the module holding the address, with inlined levels. It cannot call
functions. The process must be a child of the test (ptrace access rules).
"""

import os
import shutil
import subprocess

from elf_symbols import dynamic_symbols
from memsnap.target import procmaps
from memsnap.target.backend import Backend, Location
from memsnap.errors import MemsnapError, UnreadableMemory


class ProcfsBackend(Backend):
    name = "procfs"

    def __init__(self, pid):
        self._pid = pid
        self._mappings = None
        self._symbols = {}
        self.symbolize_calls = 0
        self._addr2line = shutil.which("addr2line") or shutil.which("eu-addr2line")

    def has_target(self):
        return os.path.exists("/proc/%d/mem" % self._pid)

    def is_live(self):
        return True

    def pid(self):
        return self._pid

    def read_memory(self, address, size):
        try:
            with open("/proc/%d/mem" % self._pid, "rb", buffering=0) as mem:
                mem.seek(address)
                data = b""
                while len(data) < size:
                    chunk = mem.read(size - len(data))
                    if not chunk:
                        break
                    data += chunk
        except (OSError, OverflowError, ValueError):
            raise UnreadableMemory(address, size)
        if len(data) != size:
            raise UnreadableMemory(address, size)
        return data

    def _read_mappings(self):
        if self._mappings is None:
            self._mappings = procmaps.read_mappings(self._pid)
        return self._mappings

    def regions(self):
        return [m.region() for m in self._read_mappings()]

    def _module_base(self, path):
        # The loader maps offset 0 read-only; a rw-p offset-0 mapping of the
        # same file is a private copy (libelf maps files it reads that way).
        mapped = [m for m in self._read_mappings() if m.name == path and m.offset == 0]
        loaded = ([m.start for m in mapped if m.perms[1] != "w"]
                  or [m.start for m in mapped])
        return max(loaded) if loaded else None

    def _module_of(self, address):
        for m in self._read_mappings():
            if m.start <= address < m.end and m.name.startswith("/"):
                return m.name
        return None

    def lookup_symbol(self, name):
        for path in sorted({m.name for m in self._read_mappings() if m.name.startswith("/")}):
            if path not in self._symbols:
                try:
                    self._symbols[path] = dynamic_symbols(path)
                except (OSError, ValueError):
                    self._symbols[path] = {}
            value = self._symbols[path].get(name)
            if value:
                return self._module_base(path) + value
        return None

    def symbolize(self, address):
        self.symbolize_calls += 1
        module = self._module_of(address)
        if module is None:
            return [Location(None, None, 0, None, 0, address)]
        base = self._module_base(module) or 0
        offset = address - base
        if self._addr2line is None:
            return [Location(None, None, 0, module, offset, address)]
        try:
            out = subprocess.run([self._addr2line, "-f", "-i", "-C", "-e", module, hex(offset)],
                                 capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as err:
            raise MemsnapError("addr2line failed: %s" % err)
        lines = out.strip().splitlines()
        locations = []
        for function, where in zip(lines[0::2], lines[1::2]):
            filename, _, line = where.rpartition(":")
            line = line.split()[0] if line else "0"
            lineno = int(line) if line.isdigit() else 0
            if filename in ("??", "") or lineno == 0:
                filename, lineno = None, 0
            locations.append(Location(None if function == "??" else function, filename, lineno,
                                      module, offset, address))
        return locations or [Location(None, None, 0, module, offset, address)]

    def source_line(self, filename, lineno):
        return None

    def threads(self):
        return []

    def call_function(self, name, *args):
        raise MemsnapError("the procfs test backend cannot call functions")
