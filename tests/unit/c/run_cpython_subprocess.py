#!/usr/bin/env python3
"""CPython's own tests of descriptors across fork and exec
(test_subprocess: test_close_fds, test_pass_fds, test_pass_fds_redirected,
test_pipe_cloexec) pass traced as they pass untraced: run untraced, then
with LD_PRELOAD=libmemsnap.so and MEMSNAP=0 (loaded, not tracing), then
traced with the defaults. They failed while the runtime's libdw descriptors
leaked into every child. Needs Debian's libpython3.11-testsuite
(scripts/install-deps).

usage: run_cpython_subprocess.py LIBMEMSNAP
"""
import os
import re
import subprocess
import sys
import tempfile

CASES = ["test_close_fds", "test_pass_fds", "test_pass_fds_redirected", "test_pipe_cloexec"]


def run(env_extra, cwd):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    env.update(env_extra)
    argv = [sys.executable, "-m", "test", "-v", "test_subprocess"]
    for case in CASES:
        argv += ["-m", case]
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)
    # "test_pipe_cloexec (test.test_subprocess.POSIXProcessTestCase...) ... ok";
    # test_pass_fds_redirected prints its docstring's first line instead.
    results = re.findall(r"^(.*?) \.\.\. (ok|FAIL|ERROR|skipped.*)$", done.stdout, re.M)
    return done.returncode, results, done.stdout


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        import test.test_subprocess  # noqa: F401
    except ImportError:
        print("CPython's test suite is missing: install libpython3.11-testsuite "
              "(scripts/install-deps)", file=sys.stderr)
        return 1
    lib = os.path.abspath(sys.argv[1])
    runs = [("untraced", {}),
            ("MEMSNAP=0", {"LD_PRELOAD": lib, "MEMSNAP": "0"}),
            ("traced", {"LD_PRELOAD": lib})]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="memsnap-cpython-") as cwd:
        for name, env in runs:
            code, results, output = run(env, cwd)
            posix = [r for r in results if "Win32" not in r[0]]
            print(f"{name}: exit {code}, " + ", ".join(r[1] for r in posix))
            if code != 0 or len(posix) != len(CASES) or any(r[1] != "ok" for r in posix):
                failures += 1
                print(output)
    print("FAIL" if failures else "OK: the same 4 passes traced and untraced")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
