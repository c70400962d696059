"""memleaks from a build directory outside the source tree and from an installed prefix, with no MEMSNAP_* variable set.

The leak scanner's path must come from the build (memsnap/buildconfig.py,
which the build tree's launcher puts on the debugger's Python path and
`meson install` puts into the installed package), never from a guess
about where a build tree lies. One out-of-tree build per debugger under
test (`meson setup DIR SOURCE --prefix PREFIX`, only the runtime and the
scanner compiled, then `meson install`); both its launcher and the
installed one check leak_list, whose list of 10 blocks is lost: 1
definitely, 9 indirectly.
"""

import os
import re
import shutil
import subprocess

import pytest

import debuggers as d
from conftest import leak_program

COMMANDS = {
    "gdb": lambda launcher, program: [launcher, "-batch", "-nx", "-ex", "break leak_checkpoint",
                                      "-ex", "run", "-ex", "memleaks -i '*/leak_list.c'", program],
    "lldb": lambda launcher, program: [launcher, "--batch", "-x", "-o",
                                       "breakpoint set -n leak_checkpoint", "-o", "process launch",
                                       "-o", "memleaks -i '*/leak_list.c'", "--", program],
}


@pytest.fixture
def builds(driver, tmp_path):
    """{variant: launcher of `driver`'s debugger} of a fresh out-of-tree build and its install."""
    meson = shutil.which("meson")
    if meson is None:
        pytest.skip("meson is not installed")
    elsewhere, prefix = tmp_path / "elsewhere", tmp_path / "prefix"
    for step in ([meson, "setup", str(elsewhere), d.SOURCE_ROOT, "--prefix", str(prefix)],
                 [meson, "compile", "-C", str(elsewhere), "runtime/memsnap", "scan/memsnap_scan"],
                 [meson, "install", "-C", str(elsewhere), "--no-rebuild", "--quiet"]):
        done = subprocess.run(step, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=_without_memsnap(), timeout=600)
        assert done.returncode == 0, done.stdout.decode(errors="replace")
    name = "memsnap-" + driver.name
    return {"out-of-tree": str(elsewhere / driver.name / name), "installed": str(prefix / "bin" / name)}


def _without_memsnap():
    return {k: v for k, v in os.environ.items() if not k.startswith("MEMSNAP_")}


@pytest.mark.parametrize("variant", ["out-of-tree", "installed"])
def test_memleaks_finds_the_scanner_the_build_made(driver, builds, variant):
    program = leak_program("leak_list")
    argv = COMMANDS[driver.name](builds[variant], program)
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=_without_memsnap(), timeout=300)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "not found" not in out + err, out + err
    assert re.search(r"^definitely lost: .* in 1 block$", out, re.M), out + err
    assert re.search(r"^indirectly lost: .* in 9 blocks$", out, re.M), out + err
