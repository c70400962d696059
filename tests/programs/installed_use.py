#!/usr/bin/env python3
"""What `meson install` installs lets one use the runtime without memsnap's
launchers: memsnap.pc builds a program against the C API, and gdb's
auto-load script for libmemsnap.so gives plain gdb the commands. a fresh out-of-tree build of this source tree (only the runtime
and the leak scanner compiled, as meson install needs) is installed into a temporary prefix; `pkg-config --cflags --libs
memsnap` with that prefix's pkgconfig directory gives the flags with which
cc builds a program calling memsnap_start, memsnap_get_traced_memory and
memsnap_stop; the program runs (the runtime linked, not preloaded) and
prints what it traced. Then plain gdb (told where the prefix's auto-load
directory is, as gdb's default covers only /usr) on that program has
memtrace at a breakpoint; without the directory it does not.

usage: installed_use.py SOURCE_ROOT
"""
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

PROGRAM = r"""
#include <memsnap.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t current = 0, peak = 0;
    if (memsnap_start(8) != 0)
        return 1;
    void *volatile block = malloc(1000);
    memsnap_get_traced_memory(&current, &peak);
    printf("tracing=%d current>=1000:%d\n", memsnap_is_tracing(), current >= 1000);
    free(block);
    return memsnap_stop();
}
"""


def run(argv, **kwargs):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600, **kwargs)
    if done.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), done.stdout.decode(errors="replace")))
    return done.stdout.decode()


def gdb_memtrace(exe, env, extra):
    argv = ["gdb", "-nx", "-batch", "-iex", "set breakpoint pending on"] + extra + ["-ex", "break exit", "-ex", "run", "-ex", "memtrace", exe]
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300).stdout.decode(errors="replace")


def check_auto_load(prefix, exe, env):
    auto_load = os.path.join(prefix, "share", "gdb", "auto-load")
    scripts = glob.glob(os.path.join(auto_load, "**", "libmemsnap.so-gdb.py"), recursive=True)
    assert len(scripts) == 1, scripts
    loaded = gdb_memtrace(exe, env, ["-iex", "add-auto-load-scripts-directory " + auto_load,
                                     "-iex", "add-auto-load-safe-path " + prefix])
    # the program called memsnap_start(8), then memsnap_stop() before exit
    assert "tracing: no" in loaded and "traceback limit: 8 frames" in loaded, loaded
    plain = gdb_memtrace(exe, env, [])
    assert "traceback limit" not in plain and 'Undefined command: "memtrace"' in plain, plain


def main():
    source = os.path.abspath(sys.argv[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    with tempfile.TemporaryDirectory(prefix="memsnap-pc-") as root:
        build, prefix = os.path.join(root, "build"), os.path.join(root, "prefix")
        run(["meson", "setup", build, source, "--prefix", prefix], env=env)
        run(["meson", "compile", "-C", build, "runtime/memsnap", "scan/memsnap_scan"], env=env)
        run(["meson", "install", "-C", build, "--no-rebuild", "--quiet"], env=env)
        pcs = glob.glob(os.path.join(prefix, "**", "pkgconfig", "memsnap.pc"), recursive=True)
        assert len(pcs) == 1, pcs
        pc_env = dict(env, PKG_CONFIG_PATH=os.path.dirname(pcs[0]))
        flags = run(["pkg-config", "--cflags", "--libs", "memsnap"], env=pc_env).split()
        assert any(f.startswith("-I" + prefix) for f in flags), flags
        c_file, exe = os.path.join(root, "api.c"), os.path.join(root, "api")
        with open(c_file, "w") as f:
            f.write(PROGRAM)
        run([shutil.which("cc") or "gcc", c_file, "-o", exe] + flags, env=env)
        libdir = run(["pkg-config", "--variable=libdir", "memsnap"], env=pc_env).strip()
        out = run([exe], env=dict(env, LD_LIBRARY_PATH=libdir))
        print("pkg-config flags: %s" % " ".join(shlex.quote(f) for f in flags))
        assert out == "tracing=1 current>=1000:1\n", out
        check_auto_load(prefix, exe, dict(env, LD_LIBRARY_PATH=libdir))
    print("ok")


if __name__ == "__main__":
    main()
