"""How deep are real programs' allocation stacks? Run inside gdb at a stop
(memsnap-gdb with MEMSNAP=256): prints, for the live blocks, the share whose
full stack (total_nframe, the runtime's count before truncation) fits in
8, 16, 24, 32, 48 and 64 frames, and how deep the key frame lies (the
first frame memstat charges, model/keyframe.py). Used by docs/commands.md's
"Default depth" figures.
"""
import memsnap

snap = memsnap.take_snapshot()
blocks = sum(s.count for s in snap.sites())
depths = sorted((s.total_nframe, s.count) for s in snap.sites())
key_depths = []
for site in snap.sites():
    key = site.key_frame()
    frames = list(site.frames())
    key_depths.append((frames.index(key) + 1 if key in frames else 0, site.count))


def share(pairs, limit):
    return 100.0 * sum(c for d, c in pairs if d <= limit) / max(blocks, 1)


print("blocks=%d sites=%d max_depth=%d" % (blocks, len(depths), depths[-1][0] if depths else 0))
print("stack fits in N frames: " + ", ".join("%d:%.0f%%" % (n, share(depths, n))
                                               for n in (8, 16, 24, 32, 48, 64)))
print("key frame within N frames: " + ", ".join("%d:%.0f%%" % (n, share(key_depths, n))
                                                 for n in (4, 8, 12, 16, 24)))
