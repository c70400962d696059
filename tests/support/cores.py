"""Kernel core dumps for the post-mortem cases: run a program under the
runtime with core dumps enabled until it aborts, and find the core the
kernel wrote (core_pattern `core`, or `core.PID`, in the working directory).
"""

import glob
import os
import subprocess


def kernel_core(program, runtime, cwd):
    """Run `program` under the runtime until it aborts; the path of the kernel's core."""
    env = dict(os.environ, LD_PRELOAD=runtime)
    subprocess.run(["sh", "-c", 'ulimit -c unlimited && exec "$0"', program],
                   cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cores = glob.glob(os.path.join(cwd, "core*"))
    assert cores, "no core file written in %s (core_pattern: %s)" % (
        cwd, open("/proc/sys/kernel/core_pattern").read().strip())
    return cores[0]
