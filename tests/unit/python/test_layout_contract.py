"""The fake target's layout table (fake_target.LAYOUT) is the C header's:
compile a program over include/memsnap/layout.h that prints every record's
size and every MEMSNAP_FIELDS entry's offset and size, and compare; and
memsnap.layout's fixed-header constants match the header's."""

import os

import pytest

from fake_target import LAYOUT
from header_facts import facts
from memsnap.table import layout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

PROGRAM = r"""
#include <stdio.h>
#include "memsnap/layout.h"
#define R(rec) printf("%s %zu\n", #rec, sizeof(struct memsnap_##rec));
#define Y(rec, fld) printf("%s.%s %zu\n", #rec, #fld, offsetof(struct memsnap_##rec, fld));
int main(void)
{
    MEMSNAP_RECORDS(R)
    MEMSNAP_FIELDS(Y)
    printf("MAGIC %llu\nMAJOR %d\nSITE_ID_BITS %u\nMAX_FRAMES %u\nTOTAL_UNKNOWN %u\n",
           (unsigned long long)MEMSNAP_MAGIC, MEMSNAP_LAYOUT_MAJOR, MEMSNAP_SITE_ID_BITS,
           MEMSNAP_MAX_FRAMES, MEMSNAP_TOTAL_UNKNOWN);
    printf("STATES %u %u %u %u %u\nOPS %u %u %u\nMAPS %u %u %u %u %u\nTHREAD %u %u\n",
           MEMSNAP_STATE_INITIALIZED, MEMSNAP_STATE_TRACING, MEMSNAP_STATE_TRUNCATED,
           MEMSNAP_STATE_SAMPLED, MEMSNAP_STATE_DRIFT, MEMSNAP_OP_NONE, MEMSNAP_OP_ALLOC, MEMSNAP_OP_FREE,
           MEMSNAP_MAP_DEPOT, MEMSNAP_MAP_CHUNK, MEMSNAP_MAP_THREADS, MEMSNAP_MAP_COUNTERS,
           MEMSNAP_MAP_MISC, MEMSNAP_THREAD_LIVE, MEMSNAP_THREAD_EXITING);
    return 0;
}
"""


@pytest.fixture(scope="module")
def header_facts(tmp_path_factory):
    return facts(PROGRAM, os.path.join(ROOT, "include"), tmp_path_factory.mktemp("layout"))


def test_record_sizes_and_offsets_match_header(header_facts):
    for record, (size, fields) in LAYOUT.items():
        assert header_facts[record] == [size], record
        for name, (offset, _) in fields.items():
            assert header_facts["%s.%s" % (record, name)] == [offset], (record, name)
    described = {k for k in header_facts if "." in k}
    faked = {"%s.%s" % (r, f) for r, (_, fields) in LAYOUT.items() for f in fields}
    assert described - faked <= {"root.reserved", "site.reserved", "mapping.reserved"}


def test_python_constants_match_header(header_facts):
    assert header_facts["MAGIC"] == [layout.MAGIC]
    assert header_facts["MAJOR"] == [layout.KNOWN_MAJOR]
    assert header_facts["TOTAL_UNKNOWN"] == [layout.TOTAL_UNKNOWN]
    assert header_facts["STATES"] == [layout.STATE_INITIALIZED, layout.STATE_TRACING,
                                      layout.STATE_TRUNCATED, layout.STATE_SAMPLED,
                                      layout.STATE_DRIFT]
    assert header_facts["OPS"] == [layout.OP_NONE, layout.OP_ALLOC, layout.OP_FREE]
    assert header_facts["MAPS"] == [layout.MAP_DEPOT, layout.MAP_CHUNK, layout.MAP_THREADS,
                                    layout.MAP_COUNTERS, layout.MAP_MISC]
    assert header_facts["THREAD"] == [layout.THREAD_LIVE, layout.THREAD_EXITING]
    assert header_facts["root"] == [160]
    assert layout.FIXED_HEADER.size == layout.FIXED_HEADER_SIZE == 32
    assert layout.FIELD_RECORD.size == header_facts["field"][0]
