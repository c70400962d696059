"""The real programs that read memsnap's exports, run the way a user would:
`go tool pprof` (Debian's golang-go) and headless Chromium (Debian's
chromium), each with a private HOME, Go cache and browser profile in a
temporary directory, and parsers for what they print. Used by the export
tests in tests/unit/python and tests/debuggers."""

import os
import re
import shutil
import subprocess
import tempfile

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1")


def _tool(name):
    path = shutil.which(name)
    assert path, "%s is not installed (scripts/install-deps installs it)" % name
    return path


def go_pprof(*args):
    """stdout of `go tool pprof ARGS`, with a temporary HOME and GOCACHE."""
    with tempfile.TemporaryDirectory(prefix="memsnap-pprof-") as home:
        env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "gocache"),
                   GOFLAGS="", GOTOOLCHAIN="local")
        result = subprocess.run([_tool("go"), "tool", "pprof"] + list(args), env=env,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


_NUMBER = re.compile(r"^(-?\d+)B?$")


def pprof_top(path, sample_index):
    """{function: (flat, cum)} from `go tool pprof -top` of one sample type,
    every node shown, values exact; an inlined function keeps its name
    without pprof's " (inline)" mark."""
    text = go_pprof("-top", "-unit=B", "-nodefraction=0", "-edgefraction=0", "-nodecount=100000",
                    "-sample_index=" + sample_index, path)
    rows = {}
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["flat", "flat%"])
    for line in lines[header + 1:]:
        flat, _, _, cum, _, name = line.split(None, 5)
        name = name[:-len(" (inline)")] if name.endswith(" (inline)") else name
        assert name not in rows, "pprof shows %s twice" % name
        rows[name] = (_value(flat), _value(cum))
    return rows


def _value(text):
    match = _NUMBER.match(text)
    assert match, "not an exact pprof value: %r" % text
    return int(match.group(1))


def pprof_total(path, sample_index):
    """The total pprof reports for one sample type."""
    text = go_pprof("-top", "-unit=B", "-nodecount=1", "-sample_index=" + sample_index, path)
    match = re.search(r"of (-?\d+)B? total", text)
    assert match, text
    return int(match.group(1))


def chromium(url, *args):
    """Run headless Chromium on `url` with extra args; its stdout."""
    with tempfile.TemporaryDirectory(prefix="memsnap-chromium-") as profile:
        command = [_tool("chromium"), *CHROMIUM_FLAGS, "--user-data-dir=" + profile, *args, url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(svg_path, png_path, width, height, fragment=""):
    """A PNG of an SVG file as Chromium draws it (fragment: '#zoom=...')."""
    chromium("file://" + os.path.abspath(svg_path) + fragment, "--screenshot=" + png_path,
             "--window-size=%d,%d" % (width, height))
    assert os.path.getsize(png_path) > 0
    return png_path


def dump_dom(html_path):
    """The DOM of an HTML page after its scripts ran (file access allowed)."""
    return chromium("file://" + os.path.abspath(html_path), "--allow-file-access-from-files",
                    "--virtual-time-budget=10000", "--dump-dom")
