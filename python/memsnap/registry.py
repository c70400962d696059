"""The registry of debugger commands, in the order they were declared.

commands.py registers the built-in commands; an optional module (e.g.
cmd_memleaks.py) registers its own with `register(CommandSpec(...))` when
imported. A handler is called as handler(context, options) and returns the
output text; context has `.backend` and `.session`.
"""

from collections import OrderedDict

_commands = OrderedDict()


def register(spec):
    _commands[spec.name] = spec
    return spec


def get(name):
    return _commands.get(name)


def names():
    return tuple(_commands)
