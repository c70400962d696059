"""The views: the debugger commands and how results are shown.

Each command in its cmd_*.py, listed in commands.py (what adapters call);
the argument parser (parser.py) and the options commands share
(options.py); text (text.py, tracemalloc's exact text) and JSON (data.py).
Exports to other formats join them here.
"""
