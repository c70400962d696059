"""Where a statistics command's result goes, and in which format: --format, -o/--output, --force.

memstat and memdiff print text (or JSON with --json) to the debugger, or
write any format to a file with `-o FILE`: the commands' own text and JSON,
or an export (views/export/: pprof, folded stacks, an SVG flame graph,
speedscope). The format is --format's, else the one the file's name asks
for (`.pb.gz` pprof, `.svg` flame graph, ...), else text. Files are
written by user_files.py (0600, never through a symbolic link, an
existing file only replaced with --force); the command then prints one
line saying what it wrote. pprof is binary, so it needs -o. These rules
exist here once for both commands.
"""

from ..errors import UsageError
from ..model.format import format_size
from ..user_files import write_user_file
from .export import BINARY_FORMATS, EXPORTERS, FORMATS, format_for_path
from .parser import Option

FORMAT = Option("--format", "-f", "str", default=None, metavar="FORMAT", choices=FORMATS,
                help="output format (default: from -o's file name, else text)")
OUTPUT = Option("--output", "-o", "str", default=None, metavar="FILE",
                help="write to FILE (mode 0600; never through a symlink) and say so")
FORCE = Option("--force", help="with -o: replace FILE if it exists")
OUTPUT_OPTIONS = (FORMAT, OUTPUT, FORCE)


def output_format(command, options):
    """The format the options ask for; a UsageError for contradictory ones."""
    if options.force and not options.output:
        raise UsageError("%s: --force only applies with -o FILE" % command)
    chosen = options.format
    if options.json:
        if chosen not in (None, "json"):
            raise UsageError("%s: --json contradicts --format %s" % (command, chosen))
        chosen = "json"
    if chosen is None:
        chosen = format_for_path(options.output) if options.output else "text"
    if chosen in BINARY_FORMATS and not options.output:
        raise UsageError("%s: --format %s is binary: give -o FILE" % (command, chosen))
    return chosen


def is_export(fmt):
    return fmt in EXPORTERS


def deliver(command, options, fmt, content, what):
    """`content` for the debugger to print, or, with -o, written to the file
    and one line saying so (`what` describes the content)."""
    if not options.output:
        return content
    if isinstance(content, str) and not content.endswith("\n"):
        content += "\n"
    write_user_file(options.output, content, replace=options.force)
    return "%s: wrote %s (%s) to %s" % (command, what, fmt, options.output)


def profile_summary(profile):
    """'N stacks, SIZE in N blocks' of an exported profile."""
    size = sum(s.inuse_bytes for s in profile.samples)
    count = sum(s.inuse_count for s in profile.samples)
    return "%d stacks, %s in %d blocks" % (len(profile.samples), format_size(size), count)
