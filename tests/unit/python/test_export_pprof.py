"""pprof export read back by the real `go tool pprof`: every sample type's
per-function flat and cumulative values and totals equal those computed
from the input stacks, inlined frames and frames without line information
included; memdiff's difference profile; mappings with build IDs; the raw
profile decodes with protobuf as pprof's documented message layout; without
protobuf, only the pprof format fails, in one line."""

import gzip
import sys

import pytest

import memsnap.views.export
import export_profiles as fixture
from export_consumers import go_pprof, pprof_top, pprof_total
from memsnap.errors import MemsnapError
from memsnap.views.export import export
from memsnap.views.export.pprof import SAMPLE_TYPES
from memsnap.views.export.pprof_schema import build_classes
from memsnap.views.export.samples import VALUE_NAMES

PPROF_TYPES = [(name, index) for name, _, index in SAMPLE_TYPES]


def write(tmp_path, data, name="profile.pb.gz"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_sample_types_are_go_heap_profile_names():
    assert [name for name, _ in PPROF_TYPES] == ["alloc_objects", "alloc_space",
                                                  "inuse_objects", "inuse_space"]
    assert [VALUE_NAMES[i] for _, i in PPROF_TYPES] == ["alloc_count", "alloc_bytes",
                                                       "inuse_count", "inuse_bytes"]


@pytest.mark.parametrize("sample_type,index", PPROF_TYPES)
def test_top_matches_the_stacks(tmp_path, sample_type, index):
    profile = fixture.after()
    path = write(tmp_path, export("pprof", profile))
    assert pprof_top(path, sample_type) == fixture.expected_top(profile.samples, index)
    assert pprof_total(path, sample_type) == sum(s.values[index] for s in profile.samples)


def test_default_sample_type_is_inuse_space(tmp_path):
    path = write(tmp_path, export("pprof", fixture.after()))
    text = go_pprof("-top", path)
    assert "Type: inuse_space" in text
    assert "Build ID: " + fixture.MAPPINGS[0].build_id in text
    assert "warning: 2 in-flight blocks skipped" in text


def test_frames_without_lines_keep_functions_and_addresses_apart(tmp_path):
    path = write(tmp_path, export("pprof", fixture.after()))
    top = pprof_top(path, "inuse_space")
    assert top["strdup"] == (80000, 80000)
    assert top["??(0x1234)"] == (333, 333)
    text = go_pprof("-top", "-addresses", "-nodefraction=0", "-unit=B", path)
    assert "00007ffff7e2a8aa strdup %s" % fixture.LIBC in text


def test_raw_profile_has_mappings_inlining_and_domains(tmp_path):
    path = write(tmp_path, export("pprof", fixture.after()))
    raw = go_pprof("-raw", path)
    mappings = raw[raw.index("Mappings"):]
    for mapping in fixture.MAPPINGS:
        assert "0x%x/0x%x/0x%x %s %s [FN][FL][LN][IN]" % (
            mapping.start, mapping.limit, mapping.offset, mapping.path, mapping.build_id) in mappings
    locations = raw[raw.index("Locations"):raw.index("Mappings")]
    # the inlined call: one location, innermost line first, then its caller
    assert "0x555555555190 M=1 init_buffer /src/waste_memory.c:22 s=0\n" \
           "             MyObject_new /src/waste_memory.c:30 s=0" in locations
    assert "domain:[1]" in raw[:raw.index("Locations")]


def test_difference_profile(tmp_path):
    new, old = fixture.after(), fixture.before()
    path = write(tmp_path, export("pprof", new, old))
    expected = fixture.difference(new, old)
    for sample_type, index in PPROF_TYPES:
        assert pprof_top(path, sample_type) == fixture.expected_top(expected, index)
        # pprof's total (the base of its percentages) adds magnitudes
        assert pprof_total(path, sample_type) == sum(abs(s.values[index]) for s in expected)
    assert "after minus before" in go_pprof("-top", path)
    # the grown site, the shrunk one and the vanished one
    top = pprof_top(path, "inuse_space")
    assert top["init_buffer"] == (600000, 600000)
    assert top["MyObject_new"] == (-96000, 504000)
    assert top["_start"][0] == -64000


def test_file_is_gzip_of_a_profile_message():
    data = export("pprof", fixture.after())
    message = build_classes()["Profile"].FromString(gzip.decompress(data))
    strings = message.string_table
    assert strings[0] == ""
    assert [(strings[t.type], strings[t.unit]) for t in message.sample_type] == [
        ("alloc_objects", "count"), ("alloc_space", "bytes"),
        ("inuse_objects", "count"), ("inuse_space", "bytes")]
    assert strings[message.default_sample_type] == "inuse_space"
    assert len(message.sample) == len(fixture.after().samples)
    assert message.time_nanos == 1700000000500000000
    # the same input gives the same bytes (no timestamps in the gzip header)
    assert export("pprof", fixture.after()) == data


def test_without_protobuf_only_pprof_fails_in_one_line(monkeypatch):
    for name in ("pprof", "pprof_schema"):
        monkeypatch.delitem(sys.modules, "memsnap.views.export." + name, raising=False)
        monkeypatch.delattr(memsnap.views.export, name, raising=False)
    for name in ("google.protobuf", "google.protobuf.descriptor_pb2"):
        monkeypatch.setitem(sys.modules, name, None)      # as if not installed
    with pytest.raises(MemsnapError) as failure:
        export("pprof", fixture.after())
    assert str(failure.value) == ("--format pprof needs the Python module google.protobuf "
                                  "(Debian: python3-protobuf)")
    assert export("folded", fixture.after())
