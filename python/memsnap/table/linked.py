"""Walking one of the trace table's linked lists (mappings, thread records), written once.

Both lists are linked through a `next` field and end at 0
(docs/layout.md); a corrupt table may make either loop or run on forever,
and a core may lose part of one. walk() yields (address, raw record bytes)
and raises CorruptTableError on a cycle or past `limit` records; an
unreadable record ends the walk with a warning saying what is missing.
reader.py and threads.py use it.
"""

from ..errors import CorruptTableError


def walk(reader, head, size, next_of, what, limit, missing):
    """(address, raw) of each record from `head`; `next_of(raw)` is the next
    address; `what` names a record ("thread record"), `missing` what an
    unreadable one loses."""
    seen = set()
    address = head
    while address:
        if address in seen:
            raise CorruptTableError("the %s list has a cycle at 0x%x (after %d records)"
                                    % (what.split()[0], address, len(seen)))
        if len(seen) >= limit:
            raise CorruptTableError("the %s list has more than %d records"
                                    % (what.split()[0], limit))
        raw = reader.try_read(address, size, "%s %d at 0x%x" % (what, len(seen), address))
        seen.add(address)
        if raw is None:
            reader.warnings.append("the %s list is cut at 0x%x: %s"
                                   % (what.split()[0], address, missing))
            return
        yield address, raw
        address = next_of(raw)
