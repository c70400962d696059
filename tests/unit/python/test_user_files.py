"""The one policy for files written for users (python/memsnap/user_files.py):
mode 0600 whatever the umask, an existing file kept unless replacing is
asked for, symbolic links never written through (even with replace), a
failed write leaves the previous file and no temporary file, and one-line
errors that name the file."""

import errno
import os
import stat

import pytest

from memsnap.errors import MemsnapError
from memsnap.user_files import write_user_file


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def only_entries(directory):
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_new_file_is_0600(tmp_path, umask):
    target = tmp_path / "out.svg"
    previous = os.umask(umask)
    try:
        write_user_file(str(target), "<svg/>")
    finally:
        os.umask(previous)
    assert target.read_text() == "<svg/>"
    assert mode(target) == 0o600
    assert only_entries(tmp_path) == ["out.svg"]


def test_bytes_text_and_writer_functions(tmp_path):
    write_user_file(str(tmp_path / "a"), b"\x1f\x8b binary")
    write_user_file(str(tmp_path / "b"), "caf\u00e9")
    write_user_file(str(tmp_path / "c"), lambda handle: handle.write(b"streamed"))
    assert (tmp_path / "a").read_bytes() == b"\x1f\x8b binary"
    assert (tmp_path / "b").read_bytes() == "caf\u00e9".encode("utf-8")
    assert (tmp_path / "c").read_bytes() == b"streamed"


def test_existing_file_is_kept_unless_replacing(tmp_path):
    target = tmp_path / "heap.pb.gz"
    target.write_text("previous")
    with pytest.raises(MemsnapError) as error:
        write_user_file(str(target), "new")
    assert str(error.value) == "cannot write %s: the file exists (use --force to replace it)" % target
    assert target.read_text() == "previous"
    target.chmod(0o644)
    write_user_file(str(target), "new", replace=True)
    assert target.read_text() == "new"
    assert mode(target) == 0o600
    assert only_entries(tmp_path) == ["heap.pb.gz"]


@pytest.mark.parametrize("replace", [False, True])
def test_symbolic_links_are_never_followed(tmp_path, replace):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "out.folded"
    link.symlink_to(victim)
    with pytest.raises(MemsnapError) as error:
        write_user_file(str(link), "data", replace=replace)
    assert "is a symbolic link" in str(error.value)
    assert victim.read_text() == "precious"
    assert os.path.islink(link)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(MemsnapError):
        write_user_file(str(dangling), "data", replace=replace)
    assert not (tmp_path / "nowhere").exists()
    assert only_entries(tmp_path) == ["dangling", "out.folded", "victim"]


def test_failure_while_writing_loses_nothing(tmp_path):
    target = tmp_path / "snap.json"
    target.write_text("old snapshot")

    def fails_half_way(handle):
        handle.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(MemsnapError) as error:
        write_user_file(str(target), fails_half_way, replace=True)
    assert str(error.value) == "cannot write %s: No space left on device" % target
    assert target.read_text() == "old snapshot"
    assert only_entries(tmp_path) == ["snap.json"]


def test_clear_errors(tmp_path):
    with pytest.raises(MemsnapError) as error:
        write_user_file(str(tmp_path / "missing" / "out.svg"), "x")
    assert str(error.value) == "cannot write %s: No such file or directory" % (
        tmp_path / "missing" / "out.svg")
    (tmp_path / "dir").mkdir()
    with pytest.raises(MemsnapError) as error:
        write_user_file(str(tmp_path / "dir"), "x", replace=True)
    assert "not a regular file" in str(error.value)
    with pytest.raises(MemsnapError):
        write_user_file(str(tmp_path) + "/", "x")
    if os.geteuid() != 0:          # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(MemsnapError) as error:
            write_user_file(str(locked / "out"), "x")
        assert "Permission denied" in str(error.value)


def test_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_user_file("plain.txt", "text")
    assert (tmp_path / "plain.txt").read_text() == "text"


def test_filesystems_without_hard_links(tmp_path, monkeypatch):
    import memsnap.user_files

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(memsnap.user_files.os, "link", no_links)
    write_user_file(str(tmp_path / "out.folded"), "a;b 1\n")
    assert (tmp_path / "out.folded").read_text() == "a;b 1\n"
    assert mode(tmp_path / "out.folded") == 0o600
    assert only_entries(tmp_path) == ["out.folded"]
    with pytest.raises(MemsnapError):
        write_user_file(str(tmp_path / "out.folded"), "other")
    assert (tmp_path / "out.folded").read_text() == "a;b 1\n"
