"""Run a leak test program under valgrind memcheck and read its verdicts.

The program calls VALGRIND_DO_LEAK_CHECK in leak_checkpoint(); the first
leak report in the log is that check (the one at exit comes later and is
ignored). Loss records are summed per category, keeping only the program's
own blocks: records whose innermost frame in any test program file
(tests/leaks/programs/) is in one of the program's own source files —
memleaks' key frame rule seen through valgrind's basenames (frames in
system libraries and headers are skipped). memcheck's leak heuristics are
its default (all) unless asked otherwise, as memleaks'.
"""

import os
import re
import subprocess
import tempfile

CATEGORIES = ("definitely lost", "indirectly lost", "possibly lost", "still reachable")
LED = "led by definitely lost"

_RECORD = re.compile(r"^==\d+== ([\d,]+)(?: \(([\d,]+) direct, ([\d,]+) indirect\))? bytes in "
                     r"([\d,]+) blocks are (definitely lost|indirectly lost|possibly lost|"
                     r"still reachable) in loss record")
_FRAME = re.compile(r"^==\d+==    (?:at|by) 0x[0-9A-Fa-f]+: .*\((.+?)(?::\d+)?\)$")


def _number(text):
    return int(text.replace(",", ""))


PROGRAM_FILES = frozenset(os.listdir(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "programs")))


def parse(log_text, source_files):
    """{category: (count, bytes)} of the first leak report, own blocks only,
    plus "led by definitely lost": the indirect bytes of their records."""
    totals = {c: [0, 0] for c in CATEGORIES}
    led = 0
    lines = log_text.splitlines()
    i = 0
    found_report = False
    while i < len(lines):
        line = lines[i]
        if "LEAK SUMMARY:" in line:
            found_report = True
            break
        match = _RECORD.match(line)
        i += 1
        if not match:
            continue
        found_report = True
        size = _number(match.group(2) if match.group(2) else match.group(1))
        count = _number(match.group(4))
        category = match.group(5)
        files = []
        while i < len(lines):
            frame = _FRAME.match(lines[i])
            if not frame:
                break
            files.append(os.path.basename(frame.group(1)))
            i += 1
        program_frames = [f for f in files if f in PROGRAM_FILES]
        if program_frames and program_frames[0] in source_files:
            totals[category][0] += count
            totals[category][1] += size
            if match.group(3):
                led += _number(match.group(3))
    if not found_report:
        raise AssertionError("valgrind printed no leak report:\n" + log_text)
    result = {c: tuple(v) for c, v in totals.items()}
    result[LED] = led
    return result


def check(program, source_files, heuristics="all", valgrind="valgrind", env=None):
    """Run `program` under memcheck (with `env` added to the environment);
    its own blocks' totals per category."""
    with tempfile.TemporaryDirectory(prefix="memsnap-vg-") as tmp:
        log = os.path.join(tmp, "memcheck.log")
        subprocess.run([valgrind, "--leak-check=full", "--show-leak-kinds=all",
                        "--leak-check-heuristics=" + heuristics, "--log-file=" + log, program],
                       check=True, env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        with open(log) as f:
            return parse(f.read(), set(source_files))
