"""The one cache of what a target answers, each answer kept until an event that may change it.

Like pwndbg's caches keyed on debugger events (lib/cache.py there), with two
lifetimes: "objfile" answers (symbol addresses, what is at a code address,
spelled source paths, the direct /proc/PID/mem reader) hold while the loaded
objects stay the same; "stop" answers (memory regions, the module map built
from them) hold while the program has not run. observe(generation) compares
the backend's Generation (target/backend.py) with the last one seen: another
target clears everything, a change of objfiles clears both lifetimes, a stop
clears "stop". The core calls it once per operation (a command, a snapshot,
a leak check), never per lookup, so a lookup costs one dict access.
Tables are cleared in place: a holder may keep the dict table() returned.
"""

LIFETIMES = ("objfile", "stop")


class TargetCache:
    def __init__(self):
        self._tables = {lifetime: {} for lifetime in LIFETIMES}
        self._seen = None

    def table(self, lifetime, name):
        """The dict of `name` answers kept for `lifetime` ("objfile" or "stop")."""
        return self._tables[lifetime].setdefault(name, {})

    def memo(self, lifetime, name, key, compute):
        """table(lifetime, name)[key], computed by compute() on a miss."""
        table = self.table(lifetime, name)
        if key in table:
            return table[key]
        value = table[key] = compute()
        return value

    def observe(self, generation):
        """Forget what `generation` (a backend.Generation) says may have changed."""
        seen, self._seen = self._seen, generation
        if seen is None or seen == generation:
            return
        if seen.target != generation.target or seen.objfiles != generation.objfiles:
            self.clear("objfile")
        self.clear("stop")

    def clear(self, lifetime):
        for table in self._tables[lifetime].values():
            table.clear()
