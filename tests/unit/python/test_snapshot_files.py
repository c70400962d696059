"""Snapshot files (python/memsnap/model/snapshot_file.py, snapshot_checks.py): saved
safely, loaded safely.

A saved file is compact, 0600, never written through a symbolic link and
replaces a file only with --force; it loads back to the same statistics
and tracebacks, with the source lines recorded in it. Loading refuses at
once what is not a regular file (a FIFO, /dev/zero, a directory), and
gives one MemsnapError line naming the file and the wrong field for
crafted content: truncations and byte flips at every offset of a real
file, deep nesting, huge or infinite numbers, wrong types and ranges,
duplicate ids, blocks of unknown sites, an array bomb. Nothing a failed
load read is kept. A loaded file's frames never make memsnap read local
files, and control characters in them are printed escaped.
"""

import base64
import json
import os
import stat
from array import array

import pytest

from memsnap.errors import MemsnapError
from memsnap.model import snapshot_file
from memsnap.model.snapshot import Snapshot
from memsnap.views import commands


def saved(waste, tmp_path, name="after.memsnap"):
    commands.run("memsnap", "before", waste.before)
    commands.run("memsnap", "after", waste.after)
    path = tmp_path / name
    commands.run("memsnap", "--save after %s" % path, waste.after)
    return path


def load_error(path):
    """The one-line MemsnapError loading `path` gives (nothing else may escape)."""
    with pytest.raises(MemsnapError) as failure:
        Snapshot.load(str(path))
    message = str(failure.value)
    assert "\n" not in message and str(path) in message, message
    return message


def v1_data(waste):
    commands.run("memsnap", "after", waste.after)
    from memsnap import session
    return session.current.get("after").to_data()


def unknown_sites(data):
    count = len(base64.b64decode(data["blocks"]["site"])) // 4
    return base64.b64encode(array("I", [999] * count).tobytes()).decode("ascii")


def write_json(path, data):
    path.write_text(json.dumps(data))
    return path


# ---- saving ----
def test_saved_file_is_compact_private_and_round_trips(waste, tmp_path):
    path = saved(waste, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(snapshot_file.MAGIC)
    assert path.stat().st_size < 20101 * 2          # 20101 blocks, about a byte each here
    expected = commands.run("memstat", "after -k traceback -n 0", waste.after)
    commands.run("memsnap", "--load %s restored" % path, None)
    assert commands.run("memstat", "restored -k traceback -n 0", None) == expected
    loaded = Snapshot.load(str(path))
    assert len(loaded.traces) == 20101
    assert loaded.find_block(0x5000450)[0:2] == (0x5000400, 800)


def test_save_refuses_existing_files_and_symlinks(waste, tmp_path):
    path = saved(waste, tmp_path)
    with pytest.raises(MemsnapError, match="exists"):
        commands.run("memsnap", "--save after %s" % path, waste.after)
    commands.run("memsnap", "--save after %s --force" % path, waste.after)
    target = tmp_path / "target"
    target.write_text("precious")
    link = tmp_path / "link.memsnap"
    link.symlink_to(target)
    for force in ("", " --force"):
        with pytest.raises(MemsnapError, match="symbolic link"):
            commands.run("memsnap", "--save after %s%s" % (link, force), waste.after)
    assert target.read_text() == "precious"
    with pytest.raises(MemsnapError, match="only applies with --save"):
        commands.run("memsnap", "x --force", waste.after)


# ---- what is not a regular file ----
def test_load_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    for path in (fifo, "/dev/zero", tmp_path):
        assert "not a regular file" in load_error(path)
    assert "No such file" in load_error(tmp_path / "missing")


# ---- real files, damaged ----
def test_every_truncation_and_byte_flip_gives_one_line(waste, tmp_path):
    data = saved(waste, tmp_path).read_bytes()
    damaged = tmp_path / "damaged.memsnap"
    tried = failed = 0
    for end in range(0, len(data)):
        damaged.write_bytes(data[:end])
        load_error(damaged)
        tried += 1
    for offset in range(0, len(data)):
        flipped = bytearray(data)
        flipped[offset] ^= 0x5A
        damaged.write_bytes(bytes(flipped))
        try:
            Snapshot.load(str(damaged))
        except MemsnapError as err:
            assert "\n" not in str(err)
            failed += 1
        tried += 1
    assert tried == 2 * len(data) and failed > len(data) // 2


def test_an_array_bomb_is_refused_before_it_is_built(waste, tmp_path):
    data = saved(waste, tmp_path).read_bytes()
    start = len(snapshot_file.MAGIC)
    version, count, meta_size = snapshot_file.HEADER.unpack_from(data, start)
    bomb = bytearray(data)
    snapshot_file.HEADER.pack_into(bomb, start, version, 1 << 31, meta_size)
    path = tmp_path / "bomb.memsnap"
    path.write_bytes(bytes(bomb))
    assert "holds other than" in load_error(path)
    snapshot_file.HEADER.pack_into(bomb, start, version, 1 << 40, meta_size)
    path.write_bytes(bytes(bomb))
    assert "claims" in load_error(path)


def test_other_versions_and_formats(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(snapshot_file.MAGIC + snapshot_file.HEADER.pack(4, 0, 0))
    assert "version 4" in load_error(path)
    path.write_bytes(b"\x7fELF\x02\x01\x01")
    assert "neither a memsnap snapshot" in load_error(path)
    write_json(path, {"format": "memsnap-snapshot", "version": 7})
    assert "version 7" in load_error(path)


# ---- crafted JSON (version 1) ----
@pytest.mark.parametrize("change, words", [
    (lambda d: d["sites"][0].update(size=-5), "site 1: size must be an integer 0..2**64-1, not -5"),
    (lambda d: d["sites"][0].update(count=1e308), "site 1: count must be an integer"),
    (lambda d: d["sites"][0].update(size=2 ** 70), "size must be an integer"),
    (lambda d: d["sites"][0].update(domain=-1), "domain must be an integer"),
    (lambda d: d["sites"][1].update(id=d["sites"][0]["id"]), "used twice"),
    (lambda d: d["sites"][0].update(stack=[10 ** 6]), "stack entry must be an integer"),
    (lambda d: d.update(traceback_limit="lots"), "traceback_limit must be an integer"),
    (lambda d: d.update(traceback_limit=-7), "traceback_limit must be an integer"),
    (lambda d: d["entries"][0]["frames"][0].__setitem__(1, "x"), "lineno must be an integer"),
    (lambda d: d["entries"][0].update(frames="x"), "frames' must be a list"),
    (lambda d: d.update(sites={}), "'sites' must be a list"),
    (lambda d: d["info"].update(time=float("1e300")), "info: time"),
    (lambda d: d["info"].update(pid="1"), "info: pid"),
    (lambda d: d.update(warnings=[1]), "warning 0"),
    (lambda d: d["blocks"].update(site=unknown_sites(d)), "blocks refer to site 999"),
    (lambda d: d["blocks"].update(size="!!"), "not base64"),
])
def test_crafted_fields_are_named(waste, tmp_path, change, words):
    data = v1_data(waste)
    change(data)
    message = load_error(write_json(tmp_path / "crafted.json", data))
    assert words in message, message


def test_crafted_json_text(tmp_path):
    path = tmp_path / "crafted.json"
    for text, words in [('{"a": ' * 100000 + '1' + '}' * 100000, "nested too deeply"),
                        ('{"format": "memsnap-snapshot", "version": 1, "skipped": Infinity}',
                         "Infinity"),
                        ('{"format": "memsnap-snapshot", "version": 1, "skipped": %s}'
                         % ("9" * 5000), "invalid JSON"),
                        ("{\x80garbage", "invalid JSON")]:
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        assert words in load_error(path)


def test_a_failed_load_keeps_nothing(waste, tmp_path):
    path = write_json(tmp_path / "crafted.json", dict(v1_data(waste), skipped=-1))
    before = commands.run("memsnap", "--list", None)
    with pytest.raises(MemsnapError):
        commands.run("memsnap", "--load %s x" % path, None)
    assert commands.run("memsnap", "--list", None) == before


# ---- what a loaded file may print ----
def test_a_loaded_file_never_shows_local_files(waste, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET LINE\n")
    data = v1_data(waste)
    frame = data["entries"][0]["frames"][0]
    frame[0], frame[1] = str(secret), 1
    frame[2] = "evil\x1b]0;pwned\x07\x1b[31m"
    path = write_json(tmp_path / "crafted.json", data)
    commands.run("memsnap", "--load %s crafted" % path, None)
    shown = commands.run("memstat", "crafted -k traceback -n 0", None)
    assert str(secret) in shown and "SECRET" not in shown
    shown = commands.run("memstat", "crafted -k function -n 0", None)
    assert "\x1b" not in shown and "\x07" not in shown
    assert "evil\\x1b]0;pwned\\x07\\x1b[31m" in shown


def test_recorded_lines_come_back_with_the_file(waste, tmp_path):
    path = saved(waste, tmp_path)
    expected = commands.run("memstat", "after -k traceback -n 1", waste.after)
    assert "malloc(100)" in expected                 # the fake debugger's source line
    from memsnap import session
    session.current = session.Session()              # a new session, a debugger without sources
    elsewhere = type(waste)().before
    elsewhere.sources = {}
    commands.run("memsnap", "--load %s restored" % path, elsewhere)
    assert commands.run("memstat", "restored -k traceback -n 1", elsewhere) == expected
