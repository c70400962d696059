"""Reading the trace table: its layout (layout.py, mirroring include/memsnap/layout.h), the reader (reader.py) and block containment (blocks.py).

The reader turns the bytes of a target into a Table of plain data; the
model (model/from_table.py) reads only the part of a Table that
reader.py's docstring lists, so a reader of another layout version can
take this one's place by offering the same.
"""
