"""`memwhere ADDR`: the live block containing ADDR, its size, domain and allocation traceback; --who lists what points at it, --path the shortest named chain of pointers from a root (leaks/retention_names.py), --print the block as its inferred type (leaks/block_types.py) with the debugger's printer."""

from ..errors import BadAddressError
from ..leaks import who_points_at
from ..leaks.block_types import BlockTypes
from ..leaks.retention_names import retention_path
from ..model.format import format_size
from . import data, text
from .options import JSON
from .parser import CommandSpec, Option


def parse_address(word, target=None):
    """An address typed by the user: a number (0x-hex or decimal), else an
    expression the debugger evaluates (`obj->data`, `&table[3]`, `1e10`),
    else bare hex (`7f12ab00`). One rule for both debuggers: the debugger's
    own error is shown for an expression it cannot evaluate."""
    stripped = word.strip()
    try:
        value = int(stripped, 0)
    except ValueError:
        value = _evaluated(stripped, target)
    if not 0 <= value < (1 << 64):
        raise BadAddressError("'%s' is not a 64-bit address" % word)
    return value


def _evaluated(expression, target):
    if target is None:
        raise BadAddressError("'%s' is not an address (use hex like 0x55d0c0a0 or decimal)"
                              % expression)
    try:
        return target.evaluate_address(expression)
    except BadAddressError as err:
        try:
            return int(expression, 16)
        except ValueError:
            raise BadAddressError("memwhere: cannot evaluate '%s': %s" % (expression, err))


def run(ctx, options):
    address = parse_address(options.args[0], ctx.session.target())
    snapshot = ctx.session.take()
    found = snapshot.find_block(address)
    if found is None:
        raise BadAddressError("0x%x is not inside any live traced block" % address)
    start, size, domain, traceback = found
    who = path = None
    if options.who:
        who = who_points_at(ctx.session.target(), start, size, symbolizer=ctx.session.frames)
    if options.path:
        path = retention_path(ctx.session.target(), address, ctx.session.frames)
    printed = _printed(ctx, start, size) if options.print else None
    if options.json:
        result = {"address": address, "start": start, "size": size, "offset": address - start,
                  "domain": domain, "traceback": [data.frame_data(f) for f in traceback]}
        if who is not None:
            result["who"] = who
        if path is not None:
            result["path"] = path.to_data()
        if printed is not None:
            result["type"], result["count"], result["value"] = printed
        return data.dumps(result)
    lines = ["0x%x is %d bytes inside a block of %s (%d bytes) at 0x%x, domain %d, allocated at:"
             % (address, address - start, format_size(size), size, start, domain)]
    lines += traceback.format()
    if who is not None:
        lines += ["pointed at by:"] + [str(item) for item in who] if who \
            else ["no pointer to this block was found"]
    if path is not None:
        lines += path.lines()
    if printed is not None:
        name, count, value = printed
        if name is None:
            lines.append("no type is known for this block (see memwhere --path)")
        elif value is None:
            lines.append("the block is a %s, a type without debug information" % name)
        else:
            lines.append("as %s%s:" % (name, " [%d]" % count if count > 1 else ""))
            lines += value.splitlines()
    return "\n".join(lines + text.snapshot_notes(snapshot))


def _printed(ctx, start, size):
    """(type name, count, the debugger's text of the block as `count` of that
    type) for the block at `start`: names None without a known type, text
    None without debug information for it."""
    target = ctx.session.target()
    datatype, name = BlockTypes.of(target, ctx.session.frames).type_at(start)
    if datatype is None:
        return name, 0, None
    count = size // datatype.size if datatype.size and size >= 2 * datatype.size else 1
    return name, count, target.backend.format_value(start, datatype, count)


SPEC = CommandSpec(
    "memwhere", "Show the live block containing ADDR: start, size, domain, allocation traceback.",
    "memwhere ADDR|EXPR [--who] [--path] [--print] [--json]", run,
    (Option("--who", help="also list what points at the block (memleaks scanner)"),
     Option("--path", help="also show the shortest chain of pointers from a root to the block, "
                           "named from debug information (memleaks scanner)"),
     Option("--print", help="also print the block as its inferred type, with the debugger's "
                            "own printer (memleaks scanner)"), JSON),
    min_args=1, max_args=1)
