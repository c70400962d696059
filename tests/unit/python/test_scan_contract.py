"""The leak scanner's ctypes binding (memsnap/leaks/scanlib.py) is the C header's:
compile a program over scan/memsnap_scan.h that prints its structs' sizes
and field offsets and every code and option, and compare each with the
Python side; and the library the build made says the same ABI."""

import ctypes
import os

import pytest

from header_facts import facts
from memsnap.errors import MemsnapError
from memsnap.leaks import scanlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

PROGRAM = r"""
#include <stddef.h>
#include <stdio.h>
#include "memsnap_scan.h"
#define S(type) printf("%s %zu\n", #type, sizeof(struct type));
#define F(type, field) printf("%s.%s %zu\n", #type, #field, offsetof(struct type, field));
#define C(name) printf("%s %u\n", #name, (unsigned)(name));
#define L(name) printf("%s %llu\n", #name, (unsigned long long)(name));
int main(void)
{
    S(memsnap_scan_block) F(memsnap_scan_block, addr) F(memsnap_scan_block, size)
    F(memsnap_scan_block, site) F(memsnap_scan_block, reserved)
    S(memsnap_scan_stats) F(memsnap_scan_stats, root_bytes) F(memsnap_scan_stats, block_bytes)
    F(memsnap_scan_stats, root_hits) F(memsnap_scan_stats, edges)
    C(MEMSNAP_SCAN_ABI) C(MEMSNAP_SCAN_REACHABLE) C(MEMSNAP_SCAN_POSSIBLE)
    C(MEMSNAP_SCAN_INDIRECT) C(MEMSNAP_SCAN_DEFINITE) C(MEMSNAP_SCAN_UNSCANNED)
    C(MEMSNAP_SCAN_COLUMNS) C(MEMSNAP_SCAN_COL_UNSCANNED) C(MEMSNAP_SCAN_COL_CLIQUE)
    C(MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS) C(MEMSNAP_SCAN_HEUR_STDSTRING)
    C(MEMSNAP_SCAN_HEUR_LENGTH64) C(MEMSNAP_SCAN_HEUR_NEWARRAY)
    C(MEMSNAP_SCAN_HEUR_MULTIPLE_INHERITANCE) C(MEMSNAP_SCAN_RECORD_PATHS)
    C(MEMSNAP_SCAN_OPTIONS_ALL)
    L(MEMSNAP_SCAN_FROM_NONE) L(MEMSNAP_SCAN_FROM_ROOT) L(MEMSNAP_SCAN_FROM_REGISTER)
    return 0;
}
"""


@pytest.fixture(scope="module")
def header(tmp_path_factory):
    found = facts(PROGRAM, os.path.join(ROOT, "scan"), tmp_path_factory.mktemp("scan"))
    return {name: values[0] for name, values in found.items()}


@pytest.mark.parametrize("struct, cls", [("memsnap_scan_block", scanlib.Block),
                                         ("memsnap_scan_stats", scanlib.Stats)])
def test_structs_match_the_header(header, struct, cls):
    assert ctypes.sizeof(cls) == header[struct]
    fields = {name for name in header if name.startswith(struct + ".")}
    assert fields == {"%s.%s" % (struct, name) for name, _ in cls._fields_}
    for name, _ in cls._fields_:
        assert getattr(cls, name).offset == header["%s.%s" % (struct, name)], name


def test_codes_match_the_header(header):
    assert header["MEMSNAP_SCAN_ABI"] == scanlib.ABI
    assert [header["MEMSNAP_SCAN_" + c] for c in ("REACHABLE", "POSSIBLE", "INDIRECT", "DEFINITE")] \
        == [scanlib.REACHABLE, scanlib.POSSIBLE, scanlib.INDIRECT, scanlib.DEFINITE]
    assert header["MEMSNAP_SCAN_UNSCANNED"] == scanlib.UNSCANNED
    assert scanlib.CATEGORY_MASK & scanlib.UNSCANNED == 0
    assert header["MEMSNAP_SCAN_COLUMNS"] == scanlib.COLUMNS
    assert header["MEMSNAP_SCAN_COL_UNSCANNED"] == scanlib.COL_UNSCANNED
    assert header["MEMSNAP_SCAN_COL_CLIQUE"] == scanlib.COL_CLIQUE


def test_options_match_the_header(header):
    assert header["MEMSNAP_SCAN_GLIBC_CHUNK_HEADERS"] == scanlib.GLIBC_CHUNK_HEADERS
    heuristics = [header["MEMSNAP_SCAN_HEUR_" + h]
                  for h in ("STDSTRING", "LENGTH64", "NEWARRAY", "MULTIPLE_INHERITANCE")]
    assert heuristics == [scanlib.HEUR_STDSTRING, scanlib.HEUR_LENGTH64, scanlib.HEUR_NEWARRAY,
                          scanlib.HEUR_MULTIPLE_INHERITANCE]
    assert header["MEMSNAP_SCAN_RECORD_PATHS"] == scanlib.RECORD_PATHS
    assert header["MEMSNAP_SCAN_OPTIONS_ALL"] == \
        scanlib.GLIBC_CHUNK_HEADERS | sum(heuristics) | scanlib.RECORD_PATHS


def test_first_edge_codes_match_the_header(header):
    assert [header["MEMSNAP_SCAN_FROM_" + c] for c in ("NONE", "ROOT", "REGISTER")] == \
        [scanlib.FROM_NONE, scanlib.FROM_ROOT, scanlib.FROM_REGISTER]


def test_the_built_library_has_the_abi():
    try:
        lib = scanlib.load()
    except MemsnapError as err:
        pytest.skip(str(err))
    assert lib.memsnap_scan_abi() == scanlib.ABI
