"""Reading target memory: a direct /proc/PID/mem path with one safety rule, exact reads, and chunked reads.

The safety rule, the same for every debugger: the file of a live local
process (Backend.local_pid) is used only after it showed the same 64 bytes
as the debugger at the stack pointer of the process's first thread (a
stale pid or a remote process would not); any short read from it falls back
to the debugger for that request and drops the file, which is opened and
checked again on the next request (a file opened before an exec shows the
old image). The file is kept in the target's cache for the objfile lifetime.

read() returns exactly the bytes asked or raises UnreadableMemory;
read_into() fills a buffer the caller gives (a large read into fresh memory
costs a page fault per page: readers of megabytes give a buffer whose pages
are populated at once, populated_buffer()); spans()
cuts a range into pieces of a bounded size; pieces() reads a range whose
parts may be missing (a hole in a core), splitting a failed piece down to
MIN_PIECE and reporting each unreadable part, never taking it as empty.
"""

import mmap
import os

from ..errors import UnreadableMemory

PROBE_SIZE = 64
# Largest single read asked of the debugger by pieces(), and the smallest
# part a failed read is split into before that part is declared unreadable.
PIECE = 64 << 20
MIN_PIECE = 64 << 10


def spans(start, end, size):
    """(address, length) pieces of at most `size` bytes covering [start, end)."""
    address = start
    while address < end:
        length = min(size, end - address)
        yield address, length
        address += length


class Memory:
    """The target's memory, read through the fast path when it is safe."""

    def __init__(self, backend):
        self.backend = backend
        self._files = backend.cache.table("objfile", "proc mem")

    def read(self, address, size):
        """Exactly `size` bytes at `address`, or raise UnreadableMemory."""
        if size < 0 or address < 0 or address + size > 1 << 64:
            raise UnreadableMemory(address, max(size, 0))
        if size == 0:
            return b""
        mem = self._proc_mem()
        if mem is not None:
            data = _pread(mem, address, size)
            if data is not None:
                return data
            self._files.clear()
        data = self.backend.read_memory(address, size)
        if len(data) != size:
            raise UnreadableMemory(address, size)
        return data

    def read_into(self, address, view):
        """Fill the writable buffer `view` (bytes, len(view) of them) with
        the bytes at `address`, or raise UnreadableMemory."""
        size = len(view)
        if address < 0 or address + size > 1 << 64:
            raise UnreadableMemory(address, size)
        if size == 0:
            return
        mem = self._proc_mem()
        if mem is not None:
            if _preadv(mem, address, view):
                return
            self._files.clear()
        data = self.backend.read_memory(address, size)
        if len(data) != size:
            raise UnreadableMemory(address, size)
        view[:] = data

    def pieces(self, start, end, on_missing, piece=PIECE):
        """Yield (address, bytes) covering [start, end); each part that cannot
        be read is given to on_missing(start, end) instead."""
        for address, size in spans(start, end, piece):
            yield from self._piece(address, size, on_missing)

    def _piece(self, address, size, on_missing):
        try:
            yield address, self.read(address, size)
            return
        except UnreadableMemory:
            pass
        if size <= MIN_PIECE:
            on_missing(address, address + size)
            return
        half = (size // 2 + 4095) & ~4095
        if half >= size:
            half = size // 2 & ~7 or size
        yield from self._piece(address, half, on_missing)
        yield from self._piece(address + half, size - half, on_missing)

    def _proc_mem(self):
        """The checked /proc/PID/mem file of a live local process, or None."""
        if "file" not in self._files:
            self._files["file"] = self._open_checked()
        return self._files["file"]

    def _open_checked(self):
        pid = self.backend.local_pid()
        if not pid:
            return None
        try:
            mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
        except OSError:
            return None
        if not self._shows_what_the_debugger_shows(mem):
            mem.close()
            return None
        return mem

    def _shows_what_the_debugger_shows(self, mem):
        threads = self.backend.threads()
        sp = threads[0].registers.get("rsp") if threads else None
        if not sp:
            return False
        try:
            expected = self.backend.read_memory(sp, PROBE_SIZE)
        except UnreadableMemory:
            return False
        return len(expected) == PROBE_SIZE and _pread(mem, sp, PROBE_SIZE) == expected


def populated_buffer(size):
    """A writable buffer of `size` zero bytes whose pages are already
    mapped (one mmap call, not a page fault per page), as a memoryview."""
    flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)
    try:
        return memoryview(mmap.mmap(-1, max(size, 1), flags=flags | getattr(mmap, "MAP_POPULATE", 0)))[:size]
    except (OSError, ValueError, TypeError):
        return memoryview(bytearray(size))


def _preadv(mem, address, view):
    """True when `view` was filled from an open /proc/PID/mem at `address`."""
    done, size = 0, len(view)
    while done < size:
        try:
            count = os.preadv(mem.fileno(), [view[done:]], address + done)
        except (OSError, OverflowError, ValueError):
            return False
        if count <= 0:
            return False
        done += count
    return True


def _pread(mem, address, size):
    """All `size` bytes at `address` from an open /proc/PID/mem, or None."""
    chunks = []
    done = 0
    while done < size:
        try:
            data = os.pread(mem.fileno(), size - done, address + done)
        except (OSError, OverflowError, ValueError):
            return None
        if not data:
            return None
        chunks.append(data)
        done += len(data)
    return b"".join(chunks)
