"""A snapshot as the exporters' input: Sites become StackSamples, the target's code mappings become Mappings.

The exporters (views/export/) read only a samples.Profile; this is where a
Snapshot (model/snapshot.py, through its public Snapshot.sites()) turns
into one. Each Site gives one StackSample: its whole stack as Locations,
oldest first (each Location one return address with its inlined frames,
caller first), its live bytes and blocks, and its totals ever allocated
(the depot's, when the table or file has them; unknown totals are written
as 0 and said in the profile's comments, as is a sampled table's mark
that its figures are estimates). Mappings, with build IDs read
from the images loaded in the target (target/build_id.py), are given only
for snapshots of the process or core the debugger has now: a snapshot
loaded from a file, or kept from an earlier process, has none.
"""

from ..model.format import sampled_note
from ..target.build_id import build_id
from .export.samples import Location, Mapping, Profile, StackSample

NO_TOTALS = "allocation totals unknown: alloc_* values are 0"


def snapshot_profile(snapshot, title, target=None, alloc_fns=()):
    """The Profile of `snapshot`; `target` (a Target) when the snapshot was
    taken from it, to give the profile its mappings; `alloc_fns` the
    --alloc-fn globs (allocator wrappers, for the flame graph's colours)."""
    source = snapshot.frame_source
    samples = []
    totals_known = True
    for site in snapshot.sites():
        stack = tuple(_location(source, ref) for ref in reversed(site.stack))
        if site.total_count is None or site.total_size is None:
            totals_known = False
        samples.append(StackSample(stack, site.domain, site.count, site.size,
                                   site.total_count or 0, site.total_size or 0))
    comments = tuple(snapshot.warnings) + (() if totals_known else (NO_TOTALS,))
    if snapshot.info.sample_bytes:
        comments += (sampled_note(snapshot.info.sample_bytes),)
    mappings = tuple(code_mappings(target)) if target is not None else ()
    return Profile(title, tuple(samples), mappings, snapshot.info.time, comments,
                   tuple(alloc_fns))


def _location(source, ref):
    frames = tuple(reversed(tuple(source.frames(ref))))       # caller first
    if source.addresses:
        return Location(ref, frames)
    return Location(frames[-1].address if frames else None, frames)


def code_mappings(target):
    """A Mapping for every executable region the target has a file for."""
    modules = target.modules()
    ids = {}
    found = []
    for region in target.regions():
        if not region.executable or not region.name.startswith("/"):
            continue
        if region.name not in ids:
            _, base = modules.locate(region.start, region.name)
            ids[region.name] = build_id(target.read, base if base is not None else region.start,
                                        region.name)
        found.append(Mapping(region.start, region.end, region.offset, region.name,
                             ids[region.name]))
    return found
