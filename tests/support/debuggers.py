"""Debugger-neutral integration test sessions, and the registry of drivers that run them.

A test describes a debugger session as a list of *steps* (plain dicts built
by the helpers below: load a program, break at a function, run, continue,
type a memsnap command, run a Python snippet, write gcore, open a core,
poke memory, attach to a running process and detach) and compares the
*results* with expected text. The same steps and the same expected text run under every registered debugger: a driver
turns the steps into a real debugger process and returns one result per
step. Drivers register themselves in DRIVERS; `lldb_driver` is imported
when its file exists.

Driver interface (what a new debugger implements)
-------------------------------------------------
Host side (this process, pytest):

    class MyDriver(Driver):
        name = "lldb"                       # the --debugger value and suite name
        def unavailable_reason(self): ...   # None if usable, else why (test skipped)
        def command_line(self, env): ...    # argv that starts the debugger in batch
                                            # mode and makes it run, inside its own
                                            # Python, step_runner.main(ops) where ops
                                            # is the debugger's Operations object
    register(MyDriver())

A debugger run through its memsnap launcher (memsnap-NAME) derives from
LauncherDriver instead, which provides launcher() and unavailable_reason().

Driver.run(steps, cwd) writes the steps as JSON to a file, starts
command_line(env) in `cwd` with MEMSNAP_TEST_STEPS / MEMSNAP_TEST_RESULTS
(paths) and MEMSNAP_TEST_SOURCE_ROOT in the environment (plus
PYTHONPATH containing this directory and python/), waits, and returns the
results list; it raises SessionError with the debugger's output if the
results file is missing or incomplete (the debugger crashed).

Debugger side: step_runner.main(ops) reads the steps, and for each calls
the method of `ops` named by step["op"] with the step's other keys as
keyword arguments (see step_runner.Operations for the exact list and
meaning), recording {"op", "ok", "output", "error", "stop"}. A method
raises step_runner.StepError(message) (or any exception) to fail; the
message of a failing debugger command must be the debugger's one-line
error text exactly as the user would see it (gdb.error's str, lldb's
SBCommandReturnObject.GetError() stripped of "error: ").

Step helpers return dicts; every key is JSON-serializable.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))


# ---- steps ----

def load(program, args=(), preload=True, env=None):
    """Select `program` (path) with command-line `args`; preload the runtime or not."""
    return {"op": "load", "program": program, "args": list(args),
            "preload": runtime_path() if preload else "", "env": dict(env or {})}


def open_core(program, core):
    """Open the core dump `core` of `program` (post-mortem; no process)."""
    return {"op": "open_core", "program": program, "core": core}


def breakpoint(location):
    """Break at a function name (the only location form both debuggers share)."""
    return {"op": "breakpoint", "location": location}


def delete_breakpoints():
    return {"op": "delete_breakpoints"}


def run():
    """Start the loaded program; returns when it stops or exits (see result['stop'])."""
    return {"op": "run"}


def cont():
    """Continue until the next stop or exit."""
    return {"op": "cont"}


def command(text):
    """Type a debugger command (a memsnap command); output is what it printed."""
    return {"op": "command", "text": text}


def python(code):
    """Run Python `code` in the debugger's Python (`import memsnap` works);
    output is what it printed."""
    return {"op": "python", "code": code}


def gcore(path):
    """Write a core dump of the stopped process to `path` (the debugger's gcore)."""
    return {"op": "gcore", "path": path}


def write_memory(symbol, offset, data):
    """Write bytes `data` at &symbol + offset in the live process."""
    return {"op": "write_memory", "symbol": symbol, "offset": offset,
            "data": bytes(data).hex()}


def kill():
    """Kill the live process (the debugger stays)."""
    return {"op": "kill"}


def attach(pid):
    """Attach to the running process `pid` (it stops where it is)."""
    return {"op": "attach", "pid": pid}


def detach():
    """Detach from the process, which runs on."""
    return {"op": "detach"}


# ---- results ----

class SessionError(Exception):
    """The debugger did not complete the session (crash, timeout)."""


def runtime_path():
    """The libmemsnap.so the tests preload (MEMSNAP_RUNTIME or the build tree's)."""
    path = os.environ.get("MEMSNAP_RUNTIME")
    if path:
        return path
    return os.path.join(build_root(), "runtime", "libmemsnap.so")


def build_root():
    """The meson build directory under test (MEMSNAP_BUILD_ROOT, else ./build)."""
    return os.environ.get("MEMSNAP_BUILD_ROOT") or os.path.join(SOURCE_ROOT, "build")


class Driver:
    """Runs a list of steps in one real debugger process; see the module docstring."""

    name = "abstract"
    timeout = 300

    def unavailable_reason(self):
        return "abstract driver"

    def command_line(self, env):
        raise NotImplementedError

    def extra_env(self):
        """Environment variables the debugger process needs besides the standard ones."""
        return {}

    def run(self, steps, cwd):
        """Run `steps` in a fresh debugger in directory `cwd`; the list of results."""
        with tempfile.TemporaryDirectory(prefix="memsnap-session-") as tmp:
            steps_path = os.path.join(tmp, "steps.json")
            results_path = os.path.join(tmp, "results.json")
            with open(steps_path, "w") as f:
                json.dump(steps, f)
            env = dict(os.environ)
            env.update({
                "MEMSNAP_TEST_STEPS": steps_path,
                "MEMSNAP_TEST_RESULTS": results_path,
                "MEMSNAP_TEST_SOURCE_ROOT": SOURCE_ROOT,
                "PYTHONPATH": os.pathsep.join(
                    [HERE, os.path.join(SOURCE_ROOT, "python")]
                    + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
            })
            env.pop("MEMSNAP_DEBUG", None)
            env.update(self.extra_env())
            argv = self.command_line(env)
            try:
                proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=self.timeout)
            except subprocess.TimeoutExpired as e:
                raise SessionError("%s timed out after %ds:\n%s" % (
                    self.name, self.timeout, (e.output or b"").decode(errors="replace")))
            transcript = proc.stdout.decode(errors="replace")
            try:
                with open(results_path) as f:
                    results = json.load(f)
            except (OSError, ValueError):
                raise SessionError("%s wrote no results (exit %d):\n%s" % (
                    self.name, proc.returncode, transcript))
            if len(results) != len(steps):
                raise SessionError("%s stopped after %d of %d steps (exit %d):\n%s" % (
                    self.name, len(results), len(steps), proc.returncode, transcript))
            for result in results:
                result["transcript"] = transcript
            return results


class LauncherDriver(Driver):
    """A Driver that starts its debugger through memsnap's launcher for it:
    build/NAME/memsnap-NAME, or the path in MEMSNAP_<NAME>_LAUNCHER. It is
    unavailable when the debugger (MEMSNAP_<NAME>, default NAME, as the
    launcher runs it) is not installed or the launcher is not built."""

    def launcher(self):
        return (os.environ.get("MEMSNAP_%s_LAUNCHER" % self.name.upper())
                or os.path.join(build_root(), self.name, "memsnap-" + self.name))

    def unavailable_reason(self):
        if shutil.which(os.environ.get("MEMSNAP_" + self.name.upper(), self.name)) is None:
            return "%s is not installed" % self.name
        if not os.access(self.launcher(), os.X_OK):
            return "launcher %s not built" % self.launcher()
        return None


DRIVERS = {}


def register(driver):
    DRIVERS[driver.name] = driver


def _load_drivers():
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    for module in ("gdb_driver", "lldb_driver"):
        if os.path.isfile(os.path.join(HERE, module + ".py")):
            importlib.import_module(module)


_load_drivers()
