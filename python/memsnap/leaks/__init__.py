"""The leak engine: memcheck's verdicts for every live block of a stopped process or a core dump.

Its files read as its phases, like LeakSanitizer's ClassifyAllChunks: the C
scanner's binding (scanlib.py), the live block list (blocks.py), the roots
(roots.py), the marking (mark.py), the report and its categories
(report.py), find_leaks() putting them together (check.py) and
who_points_at() for `memwhere --who` (who.py). See docs/leaks.md.
"""

from .check import DEFAULT_HEURISTICS, HEURISTICS, find_leaks, heuristic_options
from .report import CATEGORIES, DEFINITE, INDIRECT, POSSIBLE, REACHABLE, LeakReport
from .scanlib import load as scan_library
from .who import Reference, who_points_at

__all__ = ["find_leaks", "who_points_at", "scan_library", "heuristic_options", "LeakReport",
           "Reference", "CATEGORIES", "DEFINITE", "INDIRECT", "POSSIBLE", "REACHABLE",
           "HEURISTICS", "DEFAULT_HEURISTICS"]
