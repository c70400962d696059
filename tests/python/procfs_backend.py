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
from memsnap.backend import Backend, Location, Region
from memsnap.errors import MemsnapError, UnreadableMemory


class ProcfsBackend(Backend):
    name = "procfs"

    def __init__(self, pid):
        self._pid = pid
        self._regions = None
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

    def regions(self):
        if self._regions is None:
            regions = []
            with open("/proc/%d/maps" % self._pid) as maps:
                for line in maps:
                    parts = line.split(None, 5)
                    start, end = (int(x, 16) for x in parts[0].split("-"))
                    perms = parts[1]
                    name = parts[5].strip() if len(parts) > 5 else ""
                    regions.append((Region(start, end, perms[0] == "r", perms[1] == "w",
                                           perms[2] == "x", name), int(parts[2], 16)))
            self._regions = regions
        return [r for r, _ in self._regions]

    def _module_base(self, path):
        self.regions()
        # The loader maps offset 0 read-only; a rw-p offset-0 mapping of the
        # same file is a private copy (libelf maps files it reads that way).
        mapped = [(r, offset) for r, offset in self._regions if r.name == path and offset == 0]
        loaded = [r.start for r, _ in mapped if not r.writable] or [r.start for r, _ in mapped]
        return max(loaded) if loaded else None

    def _module_of(self, address):
        self.regions()
        for region, _ in self._regions:
            if region.start <= address < region.end and region.name.startswith("/"):
                return region.name
        return None

    def lookup_symbol(self, name):
        self.regions()
        for path in sorted({r.name for r, _ in self._regions if r.name.startswith("/")}):
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
