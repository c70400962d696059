"""Helpers of the debugger adapters that are not the core's: code an adapter
needs for its own debugger's gaps (dwarf_inline.py: inline chains from
DWARF where LLDB 14 builds no function). Never imported by the core."""
