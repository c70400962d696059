"""The tutorial's waste_memory program as a fake target, before and after run().

Same shape as tests/programs/waste_memory.c: after run() there are 10000
data buffers of 100 B (data line), 10000 objects of 48 B (object line),
100 arrays of 800 B (array line) and one 800-B array (deep line), each
stack going main -> run -> get_data -> MyObject_new. Frames below main are
in libc without line information.
"""

from fake_target import TableBuilder

SRC = "/src/waste_memory.c"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
PROG = "/build/waste_memory"
DATA_LINE, OBJECT_LINE, ARRAY_LINE, DEEP_LINE = 29, 28, 39, 46

PC_DATA, PC_OBJECT, PC_ARRAY, PC_DEEP = 0x401105, 0x4010f0, 0x401160, 0x4011a0
PC_GETDATA_CALL, PC_RUN_CALL, PC_MAIN_CALL, PC_LIBC = 0x401170, 0x4011b0, 0x4011f0, 0x7f0000029d90


class Waste:
    def __init__(self):
        self.before = self._builder(False).build()
        self.after = self._builder(True).build()
        self.sources = {(SRC, DATA_LINE): "    obj->data = malloc(100); /* data line */",
                        (SRC, OBJECT_LINE): "    struct MyObject *obj = malloc(sizeof *obj); /* object line */",
                        (SRC, ARRAY_LINE): "    struct MyObject **values = malloc(100 * sizeof *values); /* array line */",
                        (SRC, 41): "        values[i] = MyObject_new();",
                        (SRC, 48): "        deep_values[i] = get_data();",
                        (SRC, 60): "    struct MyObject ***x = run();",
                        (SRC, DEEP_LINE): "    struct MyObject ***deep_values = malloc(100 * sizeof *deep_values); /* deep line */"}
        for backend in (self.before, self.after):
            backend.sources = self.sources

    @staticmethod
    def locations(builder):
        builder.add_location(PC_DATA, ("MyObject_new", SRC, DATA_LINE, PROG))
        builder.add_location(PC_OBJECT, ("MyObject_new", SRC, OBJECT_LINE, PROG))
        builder.add_location(PC_ARRAY, ("get_data", SRC, ARRAY_LINE, PROG))
        builder.add_location(PC_DEEP, ("run", SRC, DEEP_LINE, PROG))
        builder.add_location(PC_GETDATA_CALL, ("get_data", SRC, 41, PROG))
        builder.add_location(PC_RUN_CALL, ("run", SRC, 48, PROG))
        builder.add_location(PC_MAIN_CALL, ("main", SRC, 60, PROG))
        builder.add_location(PC_LIBC, ("__libc_start_call_main", None, 0, LIBC))

    def _builder(self, after):
        b = TableBuilder()
        self.locations(b)
        tail = (PC_GETDATA_CALL, PC_RUN_CALL, PC_MAIN_CALL, PC_LIBC)
        data = b.add_site((PC_DATA,) + tail)
        obj = b.add_site((PC_OBJECT,) + tail)
        array = b.add_site((PC_ARRAY, PC_RUN_CALL, PC_MAIN_CALL, PC_LIBC))
        deep = b.add_site((PC_DEEP, PC_MAIN_CALL, PC_LIBC))
        if after:
            address = 0x5000000
            b.add_block(address, 800, deep)
            address += 0x400
            for _ in range(100):
                b.add_block(address, 800, array)
                address += 0x400
                for _ in range(100):
                    b.add_block(address, 48, obj)
                    b.add_block(address + 0x40, 100, data)
                    address += 0x100
        return b
