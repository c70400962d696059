// memsnap flame graph interaction, embedded in every SVG that
// python/memsnap/views/export/flamegraph.py writes. The SVG is already drawn; this
// script only moves and marks frames. Each frame is a nested <svg
// class="frame"> whose data-x/data-w are its first byte and width in bytes
// and data-depth its level (0 = root). Zoom: the chosen frame fills the
// width, its callers stay full width but faded, everything outside it is
// hidden. Search: frames whose name matches are marked and their share
// (nested matches counted once) is shown. Both are kept in the URL fragment
// (#zoom=f12&search=regex), read on load, so a view can be shared.
(function () {
  "use strict";
  var plot = document.getElementById("frames");
  var left = Number(plot.getAttribute("data-left"));
  var width = Number(plot.getAttribute("data-width"));
  var total = Number(plot.getAttribute("data-total"));
  var minLabel = Number(plot.getAttribute("data-min-label"));
  var details = document.getElementById("details");
  var matched = document.getElementById("matched");
  var reset = document.getElementById("reset");
  var searchBox = document.getElementById("search");
  var helpText = details.textContent;
  var frames = [];
  var byId = {};
  var state = { zoom: null, search: "" };

  Array.prototype.forEach.call(plot.querySelectorAll("svg.frame"), function (element) {
    var frame = {
      element: element,
      id: element.id,
      name: element.querySelector("text").textContent,
      about: element.querySelector("title").textContent,
      x: Number(element.getAttribute("data-x")),
      w: Number(element.getAttribute("data-w")),
      depth: Number(element.getAttribute("data-depth"))
    };
    frames.push(frame);
    byId[frame.id] = frame;
  });

  function setClass(frame, name, on) {
    frame.element.classList.toggle(name, on);
  }

  function place(frame, x, w) {
    frame.element.setAttribute("x", (left + x).toFixed(2));
    frame.element.setAttribute("width", w.toFixed(2));
    setClass(frame, "narrow", w < minLabel);
  }

  // Is `inner` (a frame of a deeper level) inside `outer`'s bytes?
  function within(inner, outer) {
    return inner.x >= outer.x && inner.x < outer.x + outer.w;
  }

  function zoom(target) {
    state.zoom = target && target.depth > 0 ? target : null;
    var base = state.zoom || frames[0];
    frames.forEach(function (frame) {
      var below = frame.depth >= base.depth && within(frame, base);
      var above = frame.depth < base.depth && within(base, frame);
      setClass(frame, "hidden", !below && !above);
      setClass(frame, "above", above);
      if (below) {
        place(frame, width * (frame.x - base.x) / base.w, width * frame.w / base.w);
      } else if (above) {
        place(frame, 0, width);
      }
    });
    reset.classList.toggle("inactive", state.zoom === null);
    saveState();
  }

  function pattern(text) {
    try {
      return new RegExp(text, "i");
    } catch (error) {
      return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
    }
  }

  // Bytes covered by the matching frames; a match inside a match counts once.
  function coveredBytes(matches) {
    var spans = matches.map(function (f) { return [f.x, f.x + f.w]; });
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var sum = 0;
    var end = -1;
    spans.forEach(function (span) {
      if (span[0] >= end) {
        sum += span[1] - span[0];
        end = span[1];
      } else if (span[1] > end) {
        sum += span[1] - end;
        end = span[1];
      }
    });
    return sum;
  }

  function search(text) {
    state.search = text;
    var regex = text ? pattern(text) : null;
    var matches = [];
    frames.forEach(function (frame) {
      var hit = regex !== null && frame.depth > 0 && regex.test(frame.name);
      setClass(frame, "match", hit);
      if (hit) {
        matches.push(frame);
      }
    });
    if (regex === null) {
      matched.textContent = "";
    } else {
      var bytes = coveredBytes(matches);
      matched.textContent = "matched " + matches.length +
        (matches.length === 1 ? " frame, " : " frames, ") +
        (total ? (100 * bytes / total).toFixed(1) : "0.0") + "% (" +
        bytes.toLocaleString("en-US") + " bytes)";
    }
    if (searchBox.value !== text) {
      searchBox.value = text;
    }
    saveState();
  }

  function saveState() {
    var parts = [];
    if (state.zoom) {
      parts.push("zoom=" + state.zoom.id);
    }
    if (state.search) {
      parts.push("search=" + encodeURIComponent(state.search));
    }
    try {
      history.replaceState(null, "", location.href.split("#")[0] +
                           (parts.length ? "#" + parts.join("&") : ""));
    } catch (error) {
      // some viewers forbid history changes: the view still works
    }
  }

  function loadState() {
    var values = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var cut = part.indexOf("=");
      if (cut > 0) {
        values[part.slice(0, cut)] = decodeURIComponent(part.slice(cut + 1));
      }
    });
    zoom(byId[values.zoom] || null);
    search(values.search || "");
  }

  function frameOf(event) {
    var element = event.target.closest ? event.target.closest("svg.frame") : null;
    return element ? byId[element.id] : null;
  }

  plot.addEventListener("click", function (event) {
    var frame = frameOf(event);
    if (frame) {
      zoom(frame);
    }
  });
  plot.addEventListener("mouseover", function (event) {
    var frame = frameOf(event);
    details.textContent = frame ? frame.about.split("\n").join(" | ") : helpText;
  });
  plot.addEventListener("mouseout", function () {
    details.textContent = helpText;
  });
  reset.addEventListener("click", function () {
    zoom(null);
  });
  searchBox.addEventListener("input", function () {
    search(searchBox.value);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== searchBox) {
      event.preventDefault();
      searchBox.focus();
    } else if (event.key === "Escape") {
      search("");
      zoom(null);
      searchBox.blur();
    }
  });
  window.addEventListener("hashchange", loadState);
  if (frames.length) {
    loadState();
  }
}());
