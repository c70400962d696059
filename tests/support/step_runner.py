"""Runs a debugger-neutral test session inside the debugger's own Python.

The driver (debuggers.Driver) starts a debugger whose Python calls
main(ops); main reads the steps from MEMSNAP_TEST_STEPS, runs each through
the debugger's Operations object and writes the results to
MEMSNAP_TEST_RESULTS after every step (so a debugger crash still leaves
the results so far). Nothing here imports gdb or lldb.
"""

import contextlib
import io
import json
import os
import traceback


class StepError(Exception):
    """A step failed; the message is what the user would have seen (one line)."""


class Operations:
    """What a debugger implements for the runner. Each method runs one step.

    load(program, args, preload, env): select the executable and its
        arguments; the inferior's environment gets LD_PRELOAD=preload (""
        = no LD_PRELOAD at all) plus `env`. Does not start it.
    open_core(program, core): open a core dump of program.
    breakpoint(location): break at function `location`.
    delete_breakpoints(): delete every breakpoint.
    run() / cont(): start / continue; return the stop dict (see stop()).
    command(text): run a debugger command, return its output as a str;
        raise StepError(one-line error text) if the command failed.
    python(code): exec code in the debugger's Python (in a namespace kept
        for the whole session); return what it printed.
    gcore(path): write a core of the stopped process.
    write_memory(symbol, offset, data): write bytes.fromhex(data) at
        &symbol + offset.
    kill(): kill the process.
    attach(pid): attach to running process pid; detach(): let it run on.
    stop(): {"state": "stopped" | "exited" | "none", "function": name of the
        innermost frame of the selected thread or None, "exit_code": int or
        None, "signal": stop signal name or None}.

    A debugger's subclass provides _execute(text) (run one command, return
    its output or raise StepError) and `namespace`; command() and python()
    are the same for every debugger.
    """

    namespace = None

    def _execute(self, text):
        raise NotImplementedError

    def command(self, text):
        return self._execute(text)

    def python(self, code):
        return capture_python(code, self.namespace)


def capture_python(code, namespace):
    """Exec `code` in `namespace`, returning what it printed to stdout/stderr."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        exec(compile(code, "<test snippet>", "exec"), namespace)
    return buffer.getvalue()


def main(ops):
    with open(os.environ["MEMSNAP_TEST_STEPS"]) as f:
        steps = json.load(f)
    results_path = os.environ["MEMSNAP_TEST_RESULTS"]
    results = []
    for step in steps:
        step = dict(step)
        op = step.pop("op")
        result = {"op": op, "ok": True, "output": "", "error": "", "stop": None}
        try:
            value = getattr(ops, op)(**step)
            if isinstance(value, dict):
                result["stop"] = value
            elif value is not None:
                result["output"] = value
        except StepError as e:
            result["ok"] = False
            result["error"] = str(e)
        except Exception as e:
            result["ok"] = False
            result["error"] = "%s: %s" % (type(e).__name__, e)
            result["output"] = traceback.format_exc()
        if op in ("run", "cont") and result["stop"] is None:
            try:
                result["stop"] = ops.stop()
            except Exception:
                pass
        results.append(result)
        _write(results_path, results)
    _write(results_path, results)


def _write(path, results):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f)
    os.replace(tmp, path)
