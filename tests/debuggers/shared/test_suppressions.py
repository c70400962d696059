"""Leak suppressions on the kernel core of waste_and_abort (it drops its only
pointer to run()'s result, 20101 blocks allocated under run()): a rule
matching run() (by function name, `leak:` prefix) leaves every lost block
out and says how many it suppressed, given with --suppress or by the
settings file (MEMSNAP_SETTINGS); a bad rule is a one-line error. (Whether
the scan finds run()'s result lost or still reachable depends on what the
core's stack still holds, so the test compares with the run without rules.)
"""

import json

import debuggers as d
from cores import kernel_core

LOST = ("definitely lost", "indirectly lost", "possibly lost")


def report(result):
    assert result["ok"], "%s failed: %s" % (result["op"], result["error"])
    return json.loads(result["output"])


def lost(data):
    return (sum(data["totals"][c]["count"] for c in LOST),
            sum(data["totals"][c]["size"] for c in LOST))


def test_suppressions(session, program, runtime, tmp_path, monkeypatch):
    aborting = program("tests/debuggers/programs/waste_and_abort")
    core = kernel_core(aborting, runtime, str(tmp_path))
    rules = tmp_path / "seed.supp"
    rules.write_text("# the seed program's known leak\nleak:run\n")
    bad = tmp_path / "bad.supp"
    bad.write_text("leak:two words\n")
    settings = tmp_path / "settings.ini"
    settings.write_text("[memsnap]\nsuppress = seed.supp\n")
    monkeypatch.setenv("MEMSNAP_SETTINGS", str(tmp_path / "absent.ini"))
    plain = session([d.open_core(aborting, core), d.command("memleaks --json"),
                     d.command("memleaks --json --suppress '%s'" % rules),
                     d.command("memleaks -n 1 --suppress '%s'" % rules),
                     d.command("memleaks --suppress '%s'" % bad)])
    before = report(plain[1])
    count, size = lost(before)
    assert before["suppressed"] is None
    assert count + before["totals"]["still reachable"]["count"] == 20102
    suppressed = report(plain[2])
    assert lost(suppressed) == (0, 0)
    assert suppressed["suppressed"] == {"count": count, "size": size, "rules": 1}
    assert "     suppressed: " in plain[3]["output"]
    assert plain[3]["output"].count(" (1 rule)") == 1
    assert not plain[4]["ok"]
    assert "bad suppression file %s, line 1: one glob per line" % bad in plain[4]["error"]
    monkeypatch.setenv("MEMSNAP_SETTINGS", str(settings))
    configured = session([d.open_core(aborting, core), d.command("memleaks --json")])
    assert report(configured[1])["suppressed"] == {"count": count, "size": size, "rules": 1}
