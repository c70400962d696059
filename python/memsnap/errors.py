"""memsnap's one exception tree.

Every failure the core or a backend reports is a MemsnapError; commands
catch it and print its message as one line (a Python traceback only when
debug mode is on). Messages are complete sentences without a trailing
period, starting lower-case, e.g. "no process: start one or open a core".
"""


class MemsnapError(Exception):
    """Base of every error memsnap reports to the user."""


class UsageError(MemsnapError):
    """Bad command syntax, unknown option, bad option value."""


class NoTargetError(MemsnapError):
    """No live process and no core file."""

    def __init__(self, message="no process: start one or open a core"):
        super().__init__(message)


class RuntimeNotLoadedError(MemsnapError):
    """The target has no memsnap_root symbol (libmemsnap.so not loaded)."""


class LayoutVersionError(MemsnapError):
    """The trace table has a major version this reader does not know."""


class CorruptTableError(MemsnapError):
    """A pointer, count or size in the table fails validation."""


class UnreadableMemory(MemsnapError):
    """Memory the reader needs cannot be read (bad address, hole in a core)."""

    def __init__(self, address, size, message=None):
        self.address = address
        self.size = size
        super().__init__(message or
                         "cannot read %d bytes at 0x%x" % (size, address))


class UnwritableMemory(MemsnapError):
    """Memory a command must write in the live process cannot be written."""

    def __init__(self, address, size):
        self.address = address
        self.size = size
        super().__init__("cannot write %d bytes at 0x%x" % (size, address))


class UnknownSnapshotError(MemsnapError):
    """A snapshot name that is not kept."""


class BadAddressError(MemsnapError):
    """An address that is not inside any live traced block, or unparsable."""


class NotLiveError(MemsnapError):
    """An operation that needs a live process was asked of a core dump."""


class InvalidArgumentError(UsageError, ValueError):
    """A bad argument to an API function (e.g. an unknown key_type).

    Also a ValueError, so code written for tracemalloc that catches
    ValueError keeps working."""
