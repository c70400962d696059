"""The leak check's roots: the memory whose words may keep blocks alive, and what never counts.

Roots (like LeakSanitizer's platform roots in lsan_common_linux.cpp): every
thread's live stack from its stack pointer (minus the x86-64 red zone) to
the end of its region, or only the heap block holding it for a stack
inside a block (coroutines); the writable PT_LOAD segments of loaded
modules (.data and .bss, by their ELF program headers); and other writable
memory that is not heap (main-thread TLS, the program's own mmaps). Never
roots: the runtime's own mappings (root.mappings), libmemsnap.so's
segments, the heap regions themselves (only live blocks' contents count,
see heap_ranges), stack below the red zone, empty glibc arenas, files
mapped as data. readable_pieces() cuts ranges along the regions and
reports what cannot be read (not mapped, not readable, not in the core):
such memory is listed in the report, never taken as empty. Heap the
program made unreadable (mprotect PROT_NONE) is still read: the debugger
and a core dump hold its bytes, and the blocks its pointers keep are not
lost (memcheck skips such pages; see docs/leaks.md).
"""

import bisect
from dataclasses import dataclass
from typing import Optional

from ..target import elf
from ..target.modules import is_runtime_module
from ..target.regions import DATA_FILE_MAPPING

# Bytes below a thread's stack pointer that still count (x86-64 red zone).
RED_ZONE = 128
# glibc's non-main arenas are mmapped at this alignment (HEAP_MAX_SIZE).
ARENA_ALIGN = 64 << 20
_NEVER_ROOTS = ("[heap]", "[vvar]", "[vdso]", "[vsyscall]", DATA_FILE_MAPPING)


@dataclass
class MemoryRange:
    """A range of target memory, and what it is, for the report."""
    start: int
    end: int
    what: str
    read_protected: bool = False   # read even where the program made it unreadable
    tid: Optional[int] = None      # a thread's stack: that thread's id


def plan_roots(target, table, blocks, regions, threads):
    """The root memory ranges to scan, each labelled, as sorted [MemoryRange]."""
    ranges, stack_regions = _stacks(blocks, regions, threads)
    ranges += _module_data(target, blocks, regions)
    ranges += _other_writable(blocks, regions, stack_regions)
    ranges = _subtract(ranges, _runtime_ranges(target, table, regions))
    ranges.sort(key=lambda r: (r.start, r.end))
    merged = []
    for r in ranges:
        if merged and r.start < merged[-1].end:
            if r.end > merged[-1].end:
                merged.append(MemoryRange(merged[-1].end, r.end, r.what, tid=r.tid))
            continue
        merged.append(r)
    return merged


def _stacks(blocks, regions, threads):
    """([MemoryRange] of the threads' live stacks, starts of their regions)."""
    ranges = []
    stack_regions = set()
    for thread in threads:
        rsp = thread.registers.get("rsp")
        if rsp is None:
            continue
        region = region_of(regions, rsp) or region_of(regions, max(rsp - RED_ZONE, 0))
        if region is None:
            ranges.append(MemoryRange(rsp, rsp + 1, "stack of thread %d (no region)" % thread.tid))
            continue
        end = region.end
        holder = blocks.holding(rsp)
        if holder is not None:
            end = holder[0] + holder[1]  # a stack in a heap block (coroutines): that block only
        else:
            stack_regions.add(region.start)
        ranges.append(MemoryRange(max(region.start, rsp - RED_ZONE), end,
                                  "stack of thread %d" % thread.tid, tid=thread.tid))
    return ranges, stack_regions


def _module_data(target, blocks, regions):
    """Loaded modules' writable segments, by their ELF program headers."""
    ranges = []
    for name, image in module_images(regions):
        segments = _writable_segments(target, image)
        if segments is None:
            segments = [(r.start, r.end) for r in image if r.writable]
            after = region_of(regions, image[-1].end)
            if after is not None and not after.name and after.writable \
                    and not blocks.any_overlapping(after.start, after.end):
                segments.append((after.start, after.end))
        ranges += [MemoryRange(start, end, "data of %s" % name) for start, end in segments]
    return ranges


def _other_writable(blocks, regions, stack_regions):
    """Other writable memory that is not heap: TLS, the program's own mmaps."""
    ranges = []
    for index, region in enumerate(regions):
        if not region.writable or region.start in stack_regions:
            continue
        if region.name.startswith("/") or region.name in _NEVER_ROOTS:
            continue
        if blocks.any_overlapping(region.start, region.end):
            continue  # heap: only live blocks' contents count
        if _looks_like_empty_arena(regions, index):
            continue  # stale free chunks, not roots
        ranges.append(MemoryRange(region.start, region.end,
                                  "anonymous memory" if not region.name else region.name))
    return ranges


def _runtime_ranges(target, table, regions):
    """The runtime's own memory: every mapping of root.mappings, every region
    backed by libmemsnap.so, and the loaded runtime's writable segments
    (its .bss included, from its ELF program headers or, failing that, the
    anonymous region right after its image)."""
    ranges = [(m.address, m.address + m.size) for m in table.mappings]
    ranges += [(r.start, r.end) for r in regions if r.name and is_runtime_module(r.name)]
    for _name, image in module_images(regions, runtime=True):
        segments = _writable_segments(target, image)
        if segments is None:
            segments = [(r.start, r.end) for r in image if r.writable]
            segments += [(r.start, r.end) for r in regions
                         if r.start == image[-1].end and not r.name and r.writable]
        ranges += segments
    return ranges


def _writable_segments(target, image):
    """[(start, end)] of a module's writable PT_LOAD segments (.data, .bss),
    from the ELF program headers in the target's memory; None if unknown."""
    loads = elf.loaded_segments(target.read, min(r.start for r in image))
    if loads is None:
        return None
    return [(start, end) for start, end, flags in loads if flags & elf.PF_W]


def module_images(regions, runtime=False):
    """(path, [regions]) of each loaded module image: a run of adjacent
    regions backed by the same file, one of them executable. (A file mapped
    as data, e.g. by libdw reading it, has no executable region.) Only the
    runtime's images with runtime=True, only the others without."""
    images = []
    run = []
    for region in regions:
        if run and (region.name != run[-1].name or region.start != run[-1].end):
            images.append(run)
            run = []
        if region.name.startswith("/"):
            run.append(region)
    if run:
        images.append(run)
    return [(run[0].name, run) for run in images
            if any(r.executable for r in run) and is_runtime_module(run[0].name) == runtime]


def _looks_like_empty_arena(regions, index):
    """A glibc thread arena holding no live block: an anonymous mapping at a
    64 MiB boundary that is 64 MiB long or followed by the inaccessible rest
    of its 64 MiB reservation."""
    region = regions[index]
    if region.name or region.start % ARENA_ALIGN:
        return False
    if region.end - region.start == ARENA_ALIGN:
        return True
    following = regions[index + 1] if index + 1 < len(regions) else None
    return (following is not None and following.start == region.end and not following.readable
            and following.end <= region.start + ARENA_ALIGN)


def _subtract(ranges, holes):
    """[MemoryRange] minus the holes [(start, end)]."""
    holes = sorted(holes)
    out = []
    for rng in ranges:
        pieces = [(rng.start, rng.end)]
        for hs, he in holes:
            if he <= rng.start or hs >= rng.end:
                continue
            pieces = [p for ps, pe in pieces for p in _minus(ps, pe, hs, he)]
        out.extend(MemoryRange(s, e, rng.what, tid=rng.tid) for s, e in pieces if s < e)
    return out


def _minus(start, end, hole_start, hole_end):
    if hole_end <= start or hole_start >= end:
        return [(start, end)]
    return ([(start, hole_start)] if start < hole_start else []) + \
        ([(hole_end, end)] if hole_end < end else [])


def region_of(regions, address):
    """The region (of `regions`, sorted) holding `address`, or None."""
    i = bisect.bisect_right(regions, address, key=lambda r: r.start) - 1
    if i >= 0 and regions[i].start <= address < regions[i].end:
        return regions[i]
    return None


def readable_pieces(ranges, regions, missing):
    """Split ranges along `regions` (sorted): yield the readable in-core
    pieces, append the rest to `missing` with the reason."""
    starts = [r.start for r in regions]
    for rng in ranges:
        address = rng.start
        while address < rng.end:
            region = region_of(regions, address)
            if region is None:
                following = bisect.bisect_right(starts, address)
                end = min(rng.end, starts[following] if following < len(starts) else rng.end)
                missing.append(MemoryRange(address, end, rng.what + ": not mapped in the target"))
                address = end
                continue
            end = min(rng.end, region.end)
            if not region.readable and not rng.read_protected:
                missing.append(MemoryRange(address, end, rng.what + ": not readable"))
            elif not region.in_core:
                missing.append(MemoryRange(address, end, rng.what + ": not in the core file"))
            else:
                yield MemoryRange(address, end, rng.what, tid=rng.tid)
            address = end


def heap_ranges(blocks, regions):
    """Regions holding any part of a live block (their contents are fed in
    address order), read even where the program made them unreadable.
    Blocks outside every region are never fed: they count as unscanned."""
    return [MemoryRange(region.start, region.end,
                        "heap" + (" " + region.name if region.name else ""), read_protected=True)
            for region in regions if blocks.any_overlapping(region.start, region.end)]


def coalesce(ranges):
    """Adjacent ranges of the same `what` as one, sorted."""
    out = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and out[-1].end == r.start and out[-1].what == r.what:
            out[-1] = MemoryRange(out[-1].start, r.end, r.what)
        else:
            out.append(r)
    return out
