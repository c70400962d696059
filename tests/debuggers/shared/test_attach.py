"""Attaching to a running multi-threaded program started without the runtime.

attach_target runs (no LD_PRELOAD) with three threads churning malloc/free
and new/delete; the debugger attaches, `memtrace start` loads libmemsnap.so
through the process's dlopen and redirects its allocation calls while the
threads run on, the test lets the program go, and at its checkpoint the
snapshot holds exactly the blocks kept after the attach, at their source
lines (sites marked `site:` in the source), with those of a library it
dlopens after the attach (attach_plugin.c), nothing else: the blocks main
allocated before the attach and frees, reallocates, measures after it cost
no error, nor does a block allocated after it and freed through a pointer
to free the loader stored at start-up (saved_free, rewritten by the
attach; without that glibc aborts). After `memtrace stop` and detaching (or detaching while tracing
goes on, sampled), the program's output and exit status are those of a run
without any debugger. A process without dlopen (a static binary)
gets one line, and so do a dlopen that fails and a process with another
allocator interposed (which runs on untouched). Attaching needs ptrace
permission (Yama's ptrace_scope).
"""

import os
import re
import shutil
import subprocess

import pytest

import debuggers as d

PROGRAM = "tests/debuggers/programs/attach_target"
SOURCES = os.path.join(d.SOURCE_ROOT, "tests", "debuggers", "programs")
WORKERS = 3
KEEP = 100
PLUGIN_KEEP = 40
# per source: how many blocks each site keeps ("before": one)
COUNTS = {"attach_target.cpp": WORKERS * KEEP, "attach_plugin.c": PLUGIN_KEEP}


def ptrace_refusal():
    """Why this machine forbids attaching to our own child, or None."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read())
    except OSError:
        return None     # no Yama: same-user ptrace is allowed
    if scope >= 3:
        return "Yama ptrace_scope is 3: no process may be attached to"
    if scope == 2 and os.geteuid() != 0:
        return "Yama ptrace_scope is 2: only root (CAP_SYS_PTRACE) may attach"
    return None         # 0, or 1 with the target's PR_SET_PTRACER_ANY


def expected_sites():
    """{"file:line": (count, bytes)} of the `site:` lines (the plugin's
    array: PLUGIN_KEEP pointers)."""
    sites = {}
    for name, count in COUNTS.items():
        with open(os.path.join(SOURCES, name)) as f:
            for number, text in enumerate(f, 1):
                match = re.search(r"(//|/\*) site: (.*) (\d+)( \*/)?$", text.rstrip())
                if not match:
                    continue
                what, each = match.group(2), int(match.group(3))
                n = 1 if "before" in what else count
                if what == "plugin array":
                    n, each = 1, PLUGIN_KEEP * 8
                sites["%s:%d" % (name, number)] = (n, n * each)
    return sites


CHECK = """
import os
import memsnap
snapshot = memsnap.take_snapshot()
found = {}
for stat in snapshot.statistics('lineno'):
    frame = stat.traceback[0]
    key = '%s:%d' % (os.path.basename(frame.filename), frame.lineno)
    found[key] = (stat.count, stat.size)
current, peak = memsnap.get_traced_memory()
print(sorted(found.items(), key=str), current)
"""


def start_target(path, preload=None):
    """attach_target running (after it printed "ready"), and the result of
    a run without a debugger."""
    reason = ptrace_refusal()
    if reason:
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "MEMSNAP"))}
    if preload:
        env["LD_PRELOAD"] = preload
    reference = subprocess.run([path, "now"], env=env, stdout=subprocess.PIPE, timeout=60)
    proc = subprocess.Popen([path], env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout.readline() == b"ready\n"
    return proc, reference


@pytest.fixture
def started(program):
    proc, reference = start_target(program(PROGRAM))
    try:
        yield proc, reference
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def compile_c(tmp_path, name, text, *flags):
    """tmp_path/name built from C `text` with `flags`; skips without a compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        pytest.skip("no C compiler")
    source = tmp_path / (name + ".c")
    source.write_text(text)
    output = tmp_path / name
    built = subprocess.run([compiler, *flags, "-o", str(output), str(source)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if built.returncode:
        pytest.skip("cannot build %s: %s" % (name, built.stdout.decode(errors="replace")))
    return str(output)


def test_attach_traces_what_follows(session, started):
    proc, reference = started
    results = session([d.attach(proc.pid), d.command("memtrace start"),
                       d.write_memory("go", 0, (1).to_bytes(4, "little")),
                       d.breakpoint("checkpoint"), d.cont(), d.python(CHECK),
                       d.command("memtrace"), d.delete_breakpoints(),
                       d.command("memtrace stop"), d.detach()])
    assert_all_ok(results)
    assert results[1]["output"].strip() == (
        "libmemsnap.so loaded into process %d; tracing started, 16 frames per stack" % proc.pid)
    assert "checkpoint" in results[4]["stop"]["function"]    # lldb: ::checkpoint()
    sites = expected_sites()
    total = sum(size for _, size in sites.values())
    assert results[5]["output"].strip() == "%s %d" % (sorted(sites.items(), key=str), total)
    assert "tracing: yes" in results[6]["output"]
    assert "untraced allocations: 0" in results[6]["output"]
    assert_ran_as_without_debugger(proc, reference)


def assert_all_ok(results):
    for result in results:
        assert result["ok"], "%s: %s\n%s" % (result["op"], result["error"], result["output"])


def assert_ran_as_without_debugger(proc, reference):
    """The attached run's output and status are the reference run's."""
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == reference.returncode == 7
    assert b"ready\n" + out == reference.stdout


def test_attach_sampled_tracing_on_after_detach(session, started):
    """Sampled, and detached while tracing: the program ends normally with
    its traced (and sampled-out) blocks freed through the hooks."""
    proc, reference = started
    results = session([d.attach(proc.pid), d.command("memtrace start 4 --sample 4096"),
                       d.command("memtrace --json"),
                       d.write_memory("go", 0, (1).to_bytes(4, "little")), d.detach()])
    assert_all_ok(results)
    assert results[1]["output"].strip() == (
        "libmemsnap.so loaded into process %d; tracing started, 4 frames per stack, sampled: "
        "one block per 4096 bytes allocated on average" % proc.pid)
    assert '"tracing": true' in results[2]["output"]
    assert '"sample_bytes": 4096' in results[2]["output"]
    assert_ran_as_without_debugger(proc, reference)


def test_static_binary_cannot_load(session, tmp_path):
    reason = ptrace_refusal()
    if reason:
        pytest.skip(reason)
    binary = compile_c(tmp_path, "static_sleeper",
                       "#include <stdlib.h>\n#include <stdio.h>\n#include <unistd.h>\n"
                       "#include <sys/prctl.h>\n"
                       "int main(void) { prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY); "
                       "void *p = malloc(10); printf(\"ready\\n\"); fflush(stdout); "
                       "for (;;) pause(); free(p); }\n", "-static", "-g")
    proc = subprocess.Popen([binary], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == b"ready\n"
        results = session([d.attach(proc.pid), d.command("memtrace start"), d.detach()])
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert not results[1]["ok"]
    assert results[1]["error"] == (
        "cannot load libmemsnap.so into process %d: it has no dynamic loader or no dlopen "
        "(a static binary, or libc not loaded yet)" % proc.pid)


# An allocator of its own, preloaded: libc's under it, but not libc's malloc.
INTERPOSER = """
#include <stddef.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n) { return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
"""


def test_another_allocator_is_refused(session, program, tmp_path):
    interposer = compile_c(tmp_path, "interposer.so", INTERPOSER, "-shared", "-fPIC", "-O1")
    proc, reference = start_target(program(PROGRAM), preload=interposer)
    try:
        results = session([d.attach(proc.pid), d.command("memtrace start"),
                           d.write_memory("go", 0, (1).to_bytes(4, "little")), d.detach()])
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    assert not results[1]["ok"]
    assert results[1]["error"] == ("memtrace: another allocator than libc's is interposed in "
                                   "this process: the runtime cannot trace it")
    assert proc.returncode == reference.returncode == 7     # nothing was rewritten
    assert b"ready\n" + out == reference.stdout


FAILED_DLOPEN = """
import memsnap.session
from memsnap.target import attach
try:
    attach.load_runtime(memsnap.session.current.target(), PATH)
except attach.CannotLoadError as e:
    print(e)
"""


def test_failed_dlopen_says_why(session, started, tmp_path):
    proc, _ = started
    not_a_library = tmp_path / "not_a_library.so"
    not_a_library.write_text("text\n")
    results = session([d.attach(proc.pid),
                       d.python("PATH = %r\n" % str(not_a_library) + FAILED_DLOPEN),
                       d.command("memtrace"), d.detach()])
    assert results[1]["output"].strip() == (
        "cannot load not_a_library.so into process %d: dlopen failed: %s: file too short"
        % (proc.pid, not_a_library))
    assert not results[2]["ok"]     # still no runtime: nothing was loaded
    proc.kill()
