"""memsnap: tracemalloc's analysis API for C and C++ programs, in GDB and LLDB.

(The public API is assembled here by the core; see docs/python-api.md.)
"""
