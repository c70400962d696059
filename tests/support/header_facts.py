"""The facts a C header states, for the contract tests of its Python mirrors.

facts(program, include_dir, work) compiles a small C program over a header
(it prints "NAME value..." lines: sizes, offsets, constants), runs it and
returns {NAME: [int, ...]}; tests/unit/python/test_layout_contract.py and
test_scan_contract.py compare them with the Python side. Skips the test
when there is no C compiler.
"""

import shutil
import subprocess

import pytest


def facts(program, include_dir, work):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    source, binary = work / "facts.c", work / "facts"
    source.write_text(program)
    subprocess.run([compiler, "-std=gnu11", "-I", include_dir, str(source), "-o", str(binary)],
                   check=True, capture_output=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        name, *values = line.split()
        found[name] = [int(v) for v in values]
    return found
