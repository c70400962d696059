"""A small argument parser for debugger commands, with help and completion.

Each command is declared once as a CommandSpec (name, one-line summary,
usage, options, positional arguments, handler); the same declaration gives
parsing (shell-like quoting, `-n 3`, `-n3`, `--limit=3`, `--`), the help
text and option completion. Errors are one-line UsageErrors naming the
command. argparse is not used: it prints and exits, which a debugger
command must never do. The options several commands share are in
options.py.
"""

import shlex
from types import SimpleNamespace

from ..errors import UsageError


class Option:
    """One option: kind is 'flag', 'int', 'str' or 'list' (repeatable str)."""

    def __init__(self, long, short=None, kind="flag", dest=None, default=None,
                 metavar=None, help="", choices=None, minimum=None):
        self.long = long
        self.short = short
        self.kind = kind
        self.dest = dest or long.lstrip("-").replace("-", "_")
        if default is None and kind == "list":
            default = ()
        if default is None and kind == "flag":
            default = False
        self.default = default
        self.metavar = metavar or ("N" if kind == "int" else "VALUE")
        self.help = help
        self.choices = choices
        self.minimum = minimum

    @property
    def takes_value(self):
        return self.kind != "flag"

    def spelling(self):
        names = ", ".join(n for n in (self.short, self.long) if n)
        if self.takes_value:
            names += " " + self.metavar
        return names


class CommandSpec:
    def __init__(self, name, summary, usage, handler, options=(), min_args=0, max_args=0,
                 description="", arg_completer=None):
        self.name = name
        self.summary = summary
        self.usage = usage
        self.handler = handler
        self.options = list(options)
        self.min_args = min_args
        self.max_args = max_args       # None = unlimited
        self.description = description
        self.arg_completer = arg_completer  # fn(session) -> candidates for a positional
        self._by_name = {}
        for option in self.options:
            for spelled in (option.long, option.short):
                if spelled:
                    self._by_name[spelled] = option

    def find(self, spelled):
        return self._by_name.get(spelled)


def _convert(spec, option, spelled, value):
    if option.kind == "int":
        try:
            number = int(value, 0)
        except ValueError:
            raise UsageError("%s: %s needs an integer, not '%s'" % (spec.name, spelled, value))
        if option.minimum is not None and number < option.minimum:
            raise UsageError("%s: %s must be >= %d, not %d" % (spec.name, spelled, option.minimum, number))
        return number
    if option.choices and value not in option.choices:
        raise UsageError("%s: %s must be one of %s, not '%s'"
                         % (spec.name, spelled, ", ".join(option.choices), value))
    return value


def parse(spec, argstring):
    """Parse an argument string into a namespace: option dests + `args`."""
    try:
        words = shlex.split(argstring or "")
    except ValueError as err:
        raise UsageError("%s: %s" % (spec.name, err))
    values = {option.dest: option.default for option in spec.options}
    lists = {}
    positionals = []
    index = 0
    only_positionals = False
    while index < len(words):
        word = words[index]
        index += 1
        if only_positionals or not word.startswith("-") or word == "-":
            positionals.append(word)
            continue
        if word == "--":
            only_positionals = True
            continue
        inline = None
        if word.startswith("--") and "=" in word:
            word, inline = word.split("=", 1)
        option = spec.find(word)
        if option is None and not word.startswith("--") and len(word) > 2:
            option = spec.find(word[:2])     # -n3
            if option is not None and option.takes_value:
                inline = word[2:]
                word = word[:2]
            else:
                option = None
        if option is None:
            raise UsageError("%s: unknown option '%s' (see 'help %s')" % (spec.name, word, spec.name))
        if not option.takes_value:
            if inline is not None:
                raise UsageError("%s: %s takes no value" % (spec.name, word))
            values[option.dest] = True
            continue
        if inline is None:
            if index >= len(words):
                raise UsageError("%s: %s needs a value" % (spec.name, word))
            inline = words[index]
            index += 1
        value = _convert(spec, option, word, inline)
        if option.kind == "list":
            lists.setdefault(option.dest, []).append(value)
        else:
            values[option.dest] = value
    for dest, items in lists.items():
        values[dest] = tuple(items)
    if len(positionals) < spec.min_args:
        raise UsageError("%s: missing argument (usage: %s)" % (spec.name, spec.usage))
    if spec.max_args is not None and len(positionals) > spec.max_args:
        raise UsageError("%s: too many arguments (usage: %s)" % (spec.name, spec.usage))
    return SimpleNamespace(args=positionals, **values)


def help_text(spec):
    lines = [spec.summary, "", "Usage: " + spec.usage]
    if spec.description:
        lines += [""] + spec.description.rstrip("\n").split("\n")
    if spec.options:
        lines += ["", "Options:"]
        width = max(len(o.spelling()) for o in spec.options)
        for option in spec.options:
            text = option.help
            if option.choices:
                text += " (%s)" % "|".join(option.choices)
            lines.append("  %-*s  %s" % (width, option.spelling(), text))
    return "\n".join(lines)


def complete(spec, text, session=None):
    """Candidates for the last word of `text` (the arguments typed so far)."""
    text = text or ""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    if text and not text[-1].isspace() and words:
        current = words[-1]
        before = words[:-1]
    else:
        current = ""
        before = words
    previous = before[-1] if before else None
    option = spec.find(previous) if previous else None
    if option is not None and option.takes_value:
        if option.choices:
            return [c for c in option.choices if c.startswith(current)]
        return []
    if current.startswith("-"):
        names = []
        for o in spec.options:
            names += [n for n in (o.long, o.short) if n]
        return sorted(n for n in names if n.startswith(current))
    if spec.arg_completer is not None:
        return sorted(c for c in spec.arg_completer(session) if c.startswith(current))
    return []
