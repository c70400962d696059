"""Writing and reading files users name: the one policy every memsnap file follows.

A file memsnap writes (an export with `-o FILE`, a saved snapshot) is
created with mode 0600, never replaces an existing file unless asked to
(`--force`), never writes through a symbolic link, and never leaves a half
written file behind: the content goes to a temporary file in the same
directory (created O_EXCL|O_NOFOLLOW), is flushed with fsync, and only then
takes the final name — by link(2), which fails if the name exists, or by
rename(2) when replacing. Every step works relative to the directory's file
descriptor, so the directory cannot be swapped in between. Failures raise
MemsnapError with one line naming the file; the previous file, if any, is
untouched. Reading (read_user_file) opens without blocking and reads only
a regular file, up to a size limit, so a FIFO, a device such as /dev/zero
or a directory gets one line at once instead of a hang or memory exhausted.
Used by the exporters (python/memsnap/views/export/) and by snapshot files
(python/memsnap/model/snapshot_file.py).
"""

import errno
import os
import secrets
import stat

from .errors import MemsnapError

FILE_MODE = 0o600
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def write_user_file(path, content, replace=False):
    """Write `content` to `path` under the policy above.

    content is bytes, str (written as UTF-8) or a function that writes to
    the binary file object it is given (for large outputs). replace=True
    replaces an existing regular file (never a symbolic link)."""
    directory, name = os.path.split(os.fspath(path))
    if not name:
        raise MemsnapError("cannot write %s: not a file name" % path)
    try:
        dir_fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise _error(path, err)
    try:
        _check_target(path, name, dir_fd, replace)
        temp = _write_temp(path, name, dir_fd, content)
        try:
            _publish(path, temp, name, dir_fd, replace)
        finally:
            _remove_quietly(temp, dir_fd)
        os.fsync(dir_fd)
    except OSError as err:
        raise _error(path, err)
    finally:
        os.close(dir_fd)


def read_user_file(path, limit):
    """The bytes of the regular file at `path` (at most `limit` bytes), or
    MemsnapError in one line naming the file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise MemsnapError("cannot read %s: %s" % (path, err.strerror or err))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise MemsnapError("cannot read %s: not a regular file" % path)
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > limit:
            raise MemsnapError("cannot read %s: %d bytes, more than the %d this reads"
                               % (path, info.st_size, limit))
        try:
            data = handle.read(info.st_size + 1)     # +1: a file that grew says so
        except OSError as err:
            raise MemsnapError("cannot read %s: %s" % (path, err.strerror or err))
    if len(data) > info.st_size:
        raise MemsnapError("cannot read %s: it changed while read" % path)
    return data


def _error(path, err):
    return MemsnapError("cannot write %s: %s" % (path, err.strerror or err))


def _check_target(path, name, dir_fd, replace):
    """Refuse early (before writing anything) what _publish would refuse."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise MemsnapError("cannot write %s: it is a symbolic link (memsnap never writes "
                           "through one)" % path)
    if not replace:
        raise MemsnapError("cannot write %s: the file exists (use --force to replace it)" % path)
    if not stat.S_ISREG(info.st_mode):
        raise MemsnapError("cannot write %s: it exists and is not a regular file" % path)


def _write_temp(path, name, dir_fd, content):
    """Create, fill and fsync a new temporary file next to `name`; its name."""
    temp = ".%s.%s.tmp" % (name, secrets.token_hex(6))
    fd = os.open(temp, _TEMP_FLAGS, FILE_MODE, dir_fd=dir_fd)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            _fill(handle, content)
            handle.flush()
            os.fsync(fd)
    except BaseException:
        _remove_quietly(temp, dir_fd)
        raise
    finally:
        os.close(fd)
    return temp


def _fill(handle, content):
    if isinstance(content, str):
        content = content.encode("utf-8")
    if isinstance(content, (bytes, bytearray, memoryview)):
        handle.write(content)
    else:
        content(handle)


def _publish(path, temp, name, dir_fd, replace):
    """Give the temporary file its final name (atomically)."""
    if replace:
        _check_target(path, name, dir_fd, replace)
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    try:
        os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        _check_target(path, name, dir_fd, replace)     # the one-line reason
        raise
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
        _publish_without_links(temp, name, dir_fd)


def _publish_without_links(temp, name, dir_fd):
    """For filesystems without hard links: claim the name O_EXCL, then
    rename the finished file over the (empty) claim."""
    os.close(os.open(name, _TEMP_FLAGS, FILE_MODE, dir_fd=dir_fd))
    os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _remove_quietly(name, dir_fd):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
