#!/usr/bin/env python3
"""Runs real programs with and without LD_PRELOAD=libmemsnap.so and checks
that stdout and the exit code are identical and that the runtime printed
nothing: python3 doing some work, git commands on a scratch repository,
ls -R /usr/share, sort on a large generated file, and the test programs
(cxx_workload: std::map/std::string/std::thread; waste_memory). Each traced
run is done once per unwinder (the default, and fp).

usage: run_real_programs.py LIBMEMSNAP CXX_WORKLOAD WASTE_MEMORY
"""
import os
import random
import subprocess
import sys
import tempfile


def run(argv, env_extra, cwd, stdin_path=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSNAP") and k != "LD_PRELOAD"}
    env.update(env_extra)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, stdin=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=300)
    finally:
        if stdin_path:
            stdin.close()
    return done.returncode, done.stdout, done.stderr


def make_git_repo(root):
    repo = os.path.join(root, "repo")
    os.mkdir(repo)
    env = dict(os.environ, GIT_AUTHOR_NAME="memsnap", GIT_AUTHOR_EMAIL="m@example.org",
               GIT_COMMITTER_NAME="memsnap", GIT_COMMITTER_EMAIL="m@example.org",
               GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z", HOME=root)
    env.pop("LD_PRELOAD", None)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=env)
    for commit in range(5):
        for name in range(20):
            with open(os.path.join(repo, f"file{name}.txt"), "a") as f:
                f.write(f"line {commit} of file {name}\n" * (commit + 1))
        subprocess.run(["git", "-C", repo, "add", "."], check=True, env=env)
        subprocess.run(["git", "-C", repo, "commit", "-q", "-m", f"commit {commit}"],
                       check=True, env=env)
    return repo


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    lib, cxx_workload, waste_memory = (os.path.abspath(p) for p in sys.argv[1:])
    failures = 0
    with tempfile.TemporaryDirectory(prefix="memsnap-real-") as root:
        repo = make_git_repo(root)
        big = os.path.join(root, "big.txt")
        rng = random.Random(42)
        with open(big, "w") as f:
            for _ in range(300000):
                f.write("%08x %s\n" % (rng.getrandbits(32), "x" * rng.randrange(40)))
        cases = [
            ("python3 -c", ["python3", "-c",
                            "import json, collections\n"
                            "d = {str(i): list(range(i % 50)) for i in range(50000)}\n"
                            "c = collections.Counter(len(v) for v in d.values())\n"
                            "print(len(json.dumps(d)), sorted(c.items())[:3])"], None),
            ("git --version", ["git", "--version"], None),
            ("git log", ["git", "-C", repo, "log", "--stat"], None),
            ("git diff", ["git", "-C", repo, "diff", "HEAD~3"], None),
            ("git status", ["git", "-C", repo, "status", "--short", "--branch"], None),
            ("ls -R /usr/share", ["ls", "-R", "/usr/share"], None),
            ("sort", ["sort", big], None),
            ("sort -u stdin", ["sort", "-u", "-k2"], big),
            ("cxx_workload", [cxx_workload], None),
            ("waste_memory", [waste_memory], None),
        ]
        for name, argv, stdin_path in cases:
            plain = run(argv, {"HOME": root}, root, stdin_path)
            for unwinder in ("default", "fp"):
                env = {"HOME": root, "LD_PRELOAD": lib}
                if unwinder != "default":
                    env["MEMSNAP_UNWIND"] = unwinder
                traced = run(argv, env, root, stdin_path)
                problems = []
                if traced[0] != plain[0]:
                    problems.append(f"exit code {traced[0]} != {plain[0]}")
                if traced[1] != plain[1]:
                    problems.append("stdout differs")
                if traced[2] != plain[2]:
                    problems.append("stderr differs: %r" % traced[2][:300])
                status = "ok" if not problems else "FAIL: " + "; ".join(problems)
                print(f"{name} [{unwinder}]: {status} ({len(plain[1])} bytes of output)")
                failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
