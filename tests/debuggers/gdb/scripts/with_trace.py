"""The seed's with_trace.py as a GDB Python script on memsnap's tracemalloc API.

Run: memsnap-gdb -batch -nx -x with_trace.py ./waste_memory
Snapshots at checkpoint("before") and checkpoint("after"), compares them
by traceback and prints the biggest offender's traceback, oldest frame
first, each frame followed by its source line.
"""

import gdb
import memsnap

gdb.execute("break checkpoint", to_string=True)
gdb.execute("run", to_string=True)
time1 = memsnap.take_snapshot()

gdb.execute("continue", to_string=True)
time2 = memsnap.take_snapshot()

stats = time2.compare_to(time1, 'traceback')
top = stats[0]
print('Biggest offender is:')
print('\n'.join(top.traceback.format()))
