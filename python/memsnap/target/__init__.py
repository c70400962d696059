"""The target: the seam to the debugger (backend.py) and the policy about the target, written once.

A debugger adapter implements Backend's primitives; the rest of the core
reaches the target only through Target (target.py), which adds what every
debugger shares: the one cache keyed on debugger events, direct and chunked
memory reads, regions of live processes and cores, module load bases,
symbol-name and source-path spelling, symbolization, source lines and
calls into the runtime. Nothing here knows the trace table or the model.
"""
