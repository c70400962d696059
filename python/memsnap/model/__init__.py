"""The model: tracemalloc's analysis classes over memsnap's sites.

Snapshot and its Sites (snapshot.py, one way in: Snapshot.from_sites),
SnapshotInfo (info.py), Traceback, Trace, Statistic, StatisticDiff
(tracebacks.py), Frame (frames.py), Filter and DomainFilter (filters.py),
the key-frame rule (keyframe.py), sizes as tracemalloc prints them
(format.py), frame sources (sources.py), the table as the model sees it
(from_table.py) and snapshot files (snapshot_file.py).
"""
