"""The module functions (tracemalloc's names) over the fake target, and the
seed's top_n.py / with_trace.py written against memsnap's API."""

import pytest

import memsnap
from memsnap.errors import NoTargetError, NotLiveError

SRC = "/src/waste_memory.c"


def test_without_backend():
    with pytest.raises(NoTargetError):
        memsnap.take_snapshot()


def test_module_functions(waste):
    memsnap.set_backend(waste.after)
    assert memsnap.get_backend() is waste.after
    assert memsnap.is_tracing() is True
    assert memsnap.get_traceback_limit() == 16
    assert memsnap.get_traced_memory() == (1560800, 1560800)
    assert memsnap.get_tracemalloc_memory() == 123456
    tb = memsnap.get_object_traceback(0x5000800 + 0x40 + 7)
    assert tb is not None and str(tb[-1]) == SRC + ":29"
    assert memsnap.get_object_traceback(0x10) is None


def test_seed_scripts(waste):
    memsnap.set_backend(waste.before)
    time1 = memsnap.take_snapshot()
    memsnap.set_backend(waste.after)
    time2 = memsnap.take_snapshot()
    stats = time2.compare_to(time1, "lineno")
    assert [str(s) for s in stats[:3]] == [
        SRC + ":29: size=977 KiB (+977 KiB), count=10000 (+10000), average=100 B",
        SRC + ":28: size=469 KiB (+469 KiB), count=10000 (+10000), average=48 B",
        SRC + ":39: size=78.1 KiB (+78.1 KiB), count=100 (+100), average=800 B"]
    top = time2.compare_to(time1, "traceback")[0]
    lines = top.traceback.format()
    assert lines[-2:] == ['  File "%s", line 29' % SRC, "    obj->data = malloc(100); /* data line */"]
    assert str(time2.key_frame(top.traceback)) == SRC + ":29"
    assert len(time2.traces) == 20101
    assert time2.traceback_limit == 16


def test_start_stop_on_live_and_core(waste):
    memsnap.set_backend(waste.after)
    memsnap.start(10)
    memsnap.reset_peak()
    memsnap.clear_traces()
    memsnap.stop()
    assert waste.after.called[0] == ("memsnap_start", 10)
    waste.after.live = False
    with pytest.raises(NotLiveError):
        memsnap.stop()


def test_setting_the_same_backend_again_keeps_the_address_cache(waste):
    # The lldb adapter calls set_backend before every command.
    memsnap.set_backend(waste.after)
    memsnap.take_snapshot().statistics("lineno")
    looked_up = waste.after.calls["symbolize"]
    assert looked_up > 0
    memsnap.set_backend(waste.after)
    memsnap.take_snapshot().statistics("lineno")
    assert waste.after.calls["symbolize"] == looked_up
