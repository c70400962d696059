"""`memwhere EXPR`: the debugger evaluates what is not a number, the same way in GDB and LLDB.

At the seed program's second checkpoint, one frame up in main, `*x` is the
800-byte array run() returned: `memwhere *x --json` finds it whatever
options follow, `memwhere x[0][3]` one of its 48-byte objects. `1e10` means
10,000,000,000 in both debuggers. An expression the debugger cannot
evaluate gives its own error in one line, and the session goes on.
"""

import json

import debuggers as d

WASTE = "tests/programs/waste_memory"
ALIVE = d.python("print('alive')")


def test_expressions(session, program, runtime):
    results = session([d.load(program(WASTE)), d.breakpoint("checkpoint"), d.run(), d.cont(),
                       d.command("up"),
                       d.command("memwhere *x --json"),
                       d.command("memwhere x[0][3] --json"),
                       d.command("memwhere 1e10"), ALIVE,
                       d.command("memwhere no_such_variable --json"), ALIVE])
    for index in range(7):
        assert results[index]["ok"], (index, results[index]["error"])
    array = json.loads(results[5]["output"])
    assert (array["size"], array["offset"]) == (800, 0)
    assert json.loads(results[6]["output"])["size"] == 48
    assert "0x2540be400 is not inside any live traced block" in results[7]["error"]
    message = results[9]["error"].strip()
    assert message.startswith("memwhere: cannot evaluate 'no_such_variable': ")
    assert "no_such_variable" in message[len("memwhere: cannot evaluate 'no_such_variable': "):]
    assert "\n" not in message
    assert results[10]["output"] == "alive\n"
