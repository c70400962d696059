"""pprof's profile.proto message schema, described here and built at import.

pprof reads a gzip-compressed protocol buffer whose messages (Profile,
ValueType, Sample, Label, Mapping, Location, Line, Function) are documented
in pprof's proto/profile.proto. We do not ship that file or code generated
from it: MESSAGES below states, in our own words, each field we use (name,
number, type); build_classes() turns it into a descriptor in a private pool
of Debian's python3-protobuf and returns the message classes. Nothing is
generated at build time, so the package runs the same from the source tree
and from the install prefix, in gdb's and lldb's Python alike. Used by
python/memsnap/views/export/pprof.py.
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "memsnap.pprof"

_SCALARS = {
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "uint64": descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
}

# message -> fields (name, number, type, repeated). A type that is not a
# scalar names another message. Strings are indexes into string_table.
MESSAGES = {
    "Profile": (
        ("sample_type", 1, "ValueType", True),   # what each Sample.value means
        ("sample", 2, "Sample", True),
        ("mapping", 3, "Mapping", True),
        ("location", 4, "Location", True),
        ("function", 5, "Function", True),
        ("string_table", 6, "string", True),     # entry 0 is ""
        ("time_nanos", 9, "int64", False),
        ("period_type", 11, "ValueType", False),
        ("period", 12, "int64", False),
        ("comment", 13, "int64", True),
        ("default_sample_type", 14, "int64", False),
    ),
    "ValueType": (
        ("type", 1, "int64", False),
        ("unit", 2, "int64", False),
    ),
    "Sample": (
        ("location_id", 1, "uint64", True),      # leaf first
        ("value", 2, "int64", True),             # one per sample_type
        ("label", 3, "Label", True),
    ),
    "Label": (
        ("key", 1, "int64", False),
        ("str", 2, "int64", False),
        ("num", 3, "int64", False),
        ("num_unit", 4, "int64", False),
    ),
    "Mapping": (
        ("id", 1, "uint64", False),
        ("memory_start", 2, "uint64", False),
        ("memory_limit", 3, "uint64", False),
        ("file_offset", 4, "uint64", False),
        ("filename", 5, "int64", False),
        ("build_id", 6, "int64", False),
        ("has_functions", 7, "bool", False),
        ("has_filenames", 8, "bool", False),
        ("has_line_numbers", 9, "bool", False),
        ("has_inline_frames", 10, "bool", False),
    ),
    "Location": (
        ("id", 1, "uint64", False),
        ("mapping_id", 2, "uint64", False),
        ("address", 3, "uint64", False),
        ("line", 4, "Line", True),               # innermost inlined function first
    ),
    "Line": (
        ("function_id", 1, "uint64", False),
        ("line", 2, "int64", False),
    ),
    "Function": (
        ("id", 1, "uint64", False),
        ("name", 2, "int64", False),
        ("system_name", 3, "int64", False),
        ("filename", 4, "int64", False),
        ("start_line", 5, "int64", False),
    ),
}


def _file_descriptor():
    fields = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="memsnap_pprof.proto", package=PACKAGE,
                                               syntax="proto3")
    for message_name, message_fields in MESSAGES.items():
        message = proto.message_type.add(name=message_name)
        for name, number, kind, repeated in message_fields:
            field = message.field.add(name=name, number=number,
                                      label=fields.LABEL_REPEATED if repeated
                                      else fields.LABEL_OPTIONAL)
            if kind in _SCALARS:
                field.type = _SCALARS[kind]
            else:
                field.type = fields.TYPE_MESSAGE
                field.type_name = ".%s.%s" % (PACKAGE, kind)
    return proto


def _message_class(descriptor):
    make = getattr(message_factory, "GetMessageClass", None)     # protobuf >= 4.22
    if make is not None:
        return make(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def build_classes():
    """{message name: message class} for the schema above."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(_file_descriptor().SerializeToString())
    return {name: _message_class(pool.FindMessageTypeByName("%s.%s" % (PACKAGE, name)))
            for name in MESSAGES}
