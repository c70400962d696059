"""The SVG flame graph, drawn by headless Chromium: the drawing's geometry
(frames nested in their callers, widths in proportion to bytes), the
screenshot's pixels (every frame drawn where and in the colour the file
says, user code warm and libraries cool, growth red and shrinking blue),
zoom and search set through the URL fragment, and the real click and
input handlers driven from a page that embeds the SVG."""

import colorsys
import os
import re
import xml.etree.ElementTree as ElementTree

import pytest
from PIL import Image

import export_profiles as fixture
from export_consumers import dump_dom, screenshot
from memsnap.views.export import export

SVG = "{http://www.w3.org/2000/svg}"
BACKGROUND = (0xfb, 0xfb, 0xf6)
MATCH = (0xe0, 0x40, 0xfb)


class Drawing:
    """An exported SVG file, its frames as the file places them."""

    def __init__(self, directory, text, name="graph.svg"):
        self.path = os.path.join(directory, name)
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write(text)
        self.root = ElementTree.fromstring(text.encode("utf-8"))
        self.width = int(self.root.get("width"))
        self.height = int(self.root.get("height"))
        self.frames = {}
        for element in self.root.iter(SVG + "svg"):
            if "frame" in element.get("class", "").split():
                self.frames[element.get("id")] = element

    def named(self, name, depth=None):
        found = [e for e in self.frames.values() if e.find(SVG + "text").text == name
                 and depth in (None, int(e.get("data-depth")))]
        assert len(found) == 1, name
        return found[0]

    def shot(self, directory, fragment="", name="shot.png"):
        png = screenshot(self.path, os.path.join(directory, name), self.width, self.height,
                         fragment)
        return Image.open(png).convert("RGB")


def fill_rgb(frame):
    fill = frame.find(SVG + "rect").get("fill")
    match = re.fullmatch(r"hsl\((\d+),(\d+)%,(\d+)%\)", fill)
    if match:
        hue, saturation, lightness = (int(v) for v in match.groups())
        rgb = colorsys.hls_to_rgb(hue / 360, lightness / 100, saturation / 100)
        return tuple(round(c * 255) for c in rgb)
    match = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", fill)
    if match:
        return tuple(int(v) for v in match.groups())
    return tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))


def near(actual, expected, tolerance=3):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def probe(frame, x=None):
    """A point inside a frame's box above its label's glyphs."""
    left, width = float(frame.get("x")), float(frame.get("width"))
    return (int(left + width / 2) if x is None else x), int(frame.get("y")) + 2


@pytest.fixture
def graph(tmp_path):
    return Drawing(str(tmp_path), export("flamegraph", fixture.after()))


def test_geometry(graph):
    frames = list(graph.frames.values())
    root = graph.frames["f0"]
    assert root.find(SVG + "text").text == "all"
    assert float(root.get("width")) == graph.width - 20
    total = int(root.get("data-w"))
    assert total == sum(s.inuse_bytes for s in fixture.after().samples)
    for frame in frames:
        assert float(frame.get("width")) == pytest.approx(
            (graph.width - 20) * int(frame.get("data-w")) / total, abs=0.01)
        depth = int(frame.get("data-depth"))
        if depth:
            parents = [p for p in frames if int(p.get("data-depth")) == depth - 1
                       and int(p.get("data-x")) <= int(frame.get("data-x"))
                       and int(frame.get("data-x")) + int(frame.get("data-w"))
                       <= int(p.get("data-x")) + int(p.get("data-w"))]
            assert len(parents) == 1
            assert int(parents[0].get("y")) == int(frame.get("y")) + 17
    init = graph.named("init_buffer (/src/waste_memory.c:22)")
    assert int(init.get("data-w")) == 1000000
    assert "1000000" not in init.find(SVG + "title").text    # sizes as memsnap prints them
    assert "977 KiB (63.80%), 10000 blocks" in init.find(SVG + "title").text


def test_screenshot_draws_every_frame_in_its_colour(tmp_path, graph):
    image = graph.shot(str(tmp_path))
    assert image.size == (graph.width, graph.height)
    assert len(set(image.getdata())) > 50          # not blank: frames, text, colours
    for frame in graph.frames.values():
        if float(frame.get("width")) >= 3:
            assert near(image.getpixel(probe(frame)), fill_rgb(frame)), frame.get("id")
    # user code warm (red > blue), libraries cool (blue > red)
    user = fill_rgb(graph.named("MyObject_new (/src/waste_memory.c:30)"))
    library = fill_rgb(graph.named("libc.so.6(strdup+0x1a)"))
    assert user[0] > user[2] and library[2] > library[0]
    # the label is drawn: dark pixels on the widest frame's text row
    root = graph.frames["f0"]
    row = [image.getpixel((x, int(root.get("y")) + 10)) for x in range(12, 40)]
    assert any(sum(pixel) < 200 for pixel in row)


def test_allocator_wrappers_are_coloured_as_allocators(tmp_path, graph):
    """pool_alloc is user code until --alloc-fn names it a wrapper (the
    profile's allocator_functions): then it is coloured like the libraries."""
    warm = fill_rgb(graph.named("pool_alloc (/src/pool.c:12)"))
    assert warm[0] > warm[2]
    wrapped = fixture.after()._replace(allocator_functions=("pool_*",))
    cool = fill_rgb(Drawing(str(tmp_path), export("flamegraph", wrapped))
                    .named("pool_alloc (/src/pool.c:12)"))
    assert cool[2] > cool[0]


def test_zoom_and_search_from_the_fragment(tmp_path, graph):
    target = graph.named("run (/src/waste_memory.c:48)")
    strdup = graph.named("libc.so.6(strdup+0x1a)")
    pool = graph.named("pool_alloc (/src/pool.c:12)")
    image = graph.shot(str(tmp_path), "#zoom=%s&search=strdup" % target.get("id"))
    right = graph.width - 14
    assert near(image.getpixel(probe(target, right)), fill_rgb(target))      # full width now
    # run's siblings are hidden: run's colour where pool_alloc was drawn
    assert near(image.getpixel(probe(pool)), fill_rgb(target))
    assert not near(fill_rgb(pool), fill_rgb(target))
    # strdup (80000 of run's 1560000 bytes) fills its share of the width, marked
    width = (graph.width - 20) * 80000 / 1560000
    left = 10 + (graph.width - 20) * 1480000 / 1560000
    assert near(image.getpixel((int(left + width / 2), probe(strdup)[1])), MATCH)
    get_data = graph.named("get_data (/src/waste_memory.c:41)")     # its left neighbour
    assert near(image.getpixel((int(left - 5), probe(strdup)[1])), fill_rgb(get_data))


def test_differential_colours(tmp_path):
    graph = Drawing(str(tmp_path), export("flamegraph", fixture.after(), fixture.before()))
    image = graph.shot(str(tmp_path))
    grown = image.getpixel(probe(graph.named("init_buffer (/src/waste_memory.c:22)")))
    shrunk = image.getpixel(probe(graph.named("MyObject_new (/src/waste_memory.c:28)")))
    same = image.getpixel(probe(graph.named("libc.so.6(strdup+0x1a)")))
    assert grown[0] > grown[2] + 60
    assert shrunk[2] > shrunk[0] + 30
    assert abs(same[0] - same[2]) < 10
    vanished = graph.named("waste_memory(_start+0x21)", depth=4)    # only in 'before'
    assert "62.5 KiB -> 0 B (-62.5 KiB), blocks 2 -> 0 (-2)" in vanished.find(SVG + "title").text
    assert near(image.getpixel(probe(vanished)), fill_rgb(vanished))
    assert fill_rgb(vanished) == (50, 50, 245)                  # all gone: the deepest blue


HARNESS = """<!DOCTYPE html><html><body>
<iframe id="graph" src="%s" width="%d" height="%d"></iframe><pre id="out">not run</pre>
<script>
document.getElementById("graph").addEventListener("load", function () {
  var doc = this.contentDocument, out = [];
  doc.querySelector("#%s rect").dispatchEvent(new MouseEvent("click", {bubbles: true}));
  var box = doc.getElementById("search");
  box.value = "%s";
  box.dispatchEvent(new Event("input", {bubbles: true}));
  doc.querySelector("#%s rect").dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  doc.querySelectorAll("svg.frame").forEach(function (f) {
    out.push(f.id + " " + f.getAttribute("class") + " " + f.getAttribute("x") + " " +
             f.getAttribute("width"));
  });
  out.push("matched: " + doc.getElementById("matched").textContent);
  out.push("details: " + doc.getElementById("details").textContent);
  out.push("hash: " + this.contentWindow.location.hash);
  document.getElementById("out").textContent = out.join("\\n");
});
</script></body></html>"""


def test_click_search_and_hover_handlers(tmp_path, graph):
    get_data = graph.named("get_data (/src/waste_memory.c:41)")
    strdup = graph.named("libc.so.6(strdup+0x1a)")
    init = graph.named("init_buffer (/src/waste_memory.c:22)")
    page = tmp_path / "harness.html"
    page.write_text(HARNESS % (os.path.basename(graph.path), graph.width, graph.height,
                               get_data.get("id"), "init_|strdup", init.get("id")))
    dom = dump_dom(str(page))
    out = dom[dom.index('<pre id="out">') + len('<pre id="out">'):dom.index("</pre>")]
    states = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("f")}
    assert states[get_data.get("id")] == ["frame", "10.00", "%.2f" % (graph.width - 20)]
    assert states[init.get("id")][:2] == ["frame", "match"]
    assert states["f0"][:2] == ["frame", "above"]
    assert states[strdup.get("id")][:2] == ["frame", "hidden"]     # not under get_data
    assert "matched: matched 2 frames, 68.9% (1,080,000 bytes)" in out
    assert "details: init_buffer (/src/waste_memory.c:22) | in %s | 977 KiB (63.80%%), " \
           "10000 blocks" % fixture.PROGRAM in out
    assert "hash: #zoom=%s&amp;search=init_%%7Cstrdup" % get_data.get("id") in out


def test_empty_profile_says_so(tmp_path):
    graph = Drawing(str(tmp_path), export("flamegraph", fixture.Profile("empty", ())))
    assert graph.frames == {}
    assert graph.root.find(SVG + "text[@id='subtitle']").text == "no traced blocks"
