"""The seed's top_n.py as a GDB Python script on memsnap's tracemalloc API.

Run: memsnap-gdb -batch -nx -x top_n.py ./waste_memory
Stops at checkpoint("before"), takes a snapshot, continues to
checkpoint("after"), takes another, and prints the top three lines of the
comparison, exactly like `memdiff before after -n 3`.
"""

import gdb
import memsnap

gdb.execute("break checkpoint", to_string=True)
gdb.execute("run", to_string=True)           # stopped at checkpoint("before")
time1 = memsnap.take_snapshot()              # Before snapshot

gdb.execute("continue", to_string=True)      # stopped at checkpoint("after")
time2 = memsnap.take_snapshot()              # After snapshot

stats = time2.compare_to(time1, 'lineno')    # Compare snapshots
for stat in stats[:3]:
    print(stat)
