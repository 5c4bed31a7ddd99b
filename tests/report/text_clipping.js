// Text clipped by its container, measured in the rendered page (evaluated by test_browser.py).
//
// Returns {clipped: [...], htmlTexts: n, svgTexts: {chartIndex: n}}: every piece of text whose
// rendered box reaches outside a box that clips it, by more than TOL CSS px.
//
// * HTML text: the client rects of every non-blank text node (one per line fragment, from a
//   Range, so text cut by `overflow: hidden`, an ellipsis or a fixed height is measured at its
//   laid-out size) against each ancestor that clips (overflow other than visible). An ancestor
//   with `overflow: hidden | clip` shows only its padding box; one that scrolls (`auto | scroll`)
//   can be scrolled to anything right of / below its content origin, so text left of / above it
//   (negative scroll offset) is unreachable. The document itself: nothing at negative page
//   coordinates is reachable, and with `overflow-x: hidden` on html/body nothing right of it.
// * SVG text: `<text>` elements and matplotlib's text groups (`<g id="...text_N">`, glyphs drawn as
//   paths) against the SVG's viewBox (an inline SVG clips to its viewport), against the rectangle
//   of any `clip-path` on the way up, and then against the HTML ancestors as above.
() => {
  const TOL = 1.0;
  const clipped = [];
  const label = (s) => s.replace(/\s+/g, " ").trim().slice(0, 80);
  const where = (e) => {
    const parts = [];
    for (let n = e; n && n.nodeType === 1 && parts.length < 4; n = n.parentElement) {
      parts.unshift(n.tagName.toLowerCase() + (n.id ? "#" + n.id : "") +
                    (n.classList && n.classList.length ? "." + Array.from(n.classList).join(".") : ""));
    }
    return parts.join(" > ");
  };
  const seen = new Set();  // report each text and side once, at its innermost clipping container
  const report = (text, kind, rect, box, side, by, e) =>
    !seen.has(text + "|" + side + "|" + rect.left + "|" + rect.top) &&
    seen.add(text + "|" + side + "|" + rect.left + "|" + rect.top) &&
    clipped.push({text: label(text), kind, side, by_px: Math.round(by * 10) / 10, container: where(e),
                  rect: [rect.left, rect.top, rect.right, rect.bottom].map(Math.round),
                  box: [box.left, box.top, box.right, box.bottom].map(Math.round)});

  function checkAgainst(text, kind, r, box, e, mode) {
    // mode "clip": all four sides; "scroll": only the unreachable left / top sides
    if (box.left - r.left > TOL) report(text, kind, r, box, "left", box.left - r.left, e);
    if (box.top - r.top > TOL) report(text, kind, r, box, "top", box.top - r.top, e);
    if (mode === "clip") {
      if (r.right - box.right > TOL) report(text, kind, r, box, "right", r.right - box.right, e);
      if (r.bottom - box.bottom > TOL) report(text, kind, r, box, "bottom", r.bottom - box.bottom, e);
    }
  }

  function htmlAncestors(text, kind, r, start) {
    for (let e = start; e && e !== document.body && e !== document.documentElement; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const b = e.getBoundingClientRect();
      const left = b.left + e.clientLeft, top = b.top + e.clientTop;
      const hidden = (v) => v === "hidden" || v === "clip";
      if (hidden(s.overflowX) || hidden(s.overflowY)) {
        const box = {left, top, right: left + e.clientWidth, bottom: top + e.clientHeight};
        checkAgainst(text, kind, r, {
          left: hidden(s.overflowX) ? box.left : -Infinity, right: hidden(s.overflowX) ? box.right : Infinity,
          top: hidden(s.overflowY) ? box.top : -Infinity, bottom: hidden(s.overflowY) ? box.bottom : Infinity,
        }, e, "clip");
      }
      // scroll containers: the content origin is (left - scrollLeft, top - scrollTop)
      const origin = {left: s.overflowX === "visible" ? -Infinity : left - e.scrollLeft,
                      top: s.overflowY === "visible" ? -Infinity : top - e.scrollTop};
      checkAgainst(text, kind, r, {...origin, right: Infinity, bottom: Infinity}, e, "scroll");
    }
    // the document: nothing at negative page coordinates can be scrolled to
    const docOrigin = {left: -window.scrollX, top: -window.scrollY, right: Infinity, bottom: Infinity};
    const hs = [getComputedStyle(document.documentElement), getComputedStyle(document.body)];
    if (hs.some((s) => s.overflowX === "hidden" || s.overflowX === "clip")) {
      docOrigin.right = document.documentElement.clientWidth - window.scrollX;
      checkAgainst(text, kind, r, docOrigin, document.documentElement, "clip");
    } else {
      checkAgainst(text, kind, r, docOrigin, document.documentElement, "scroll");
    }
  }

  // ---- HTML text nodes
  let htmlTexts = 0;
  const skip = new Set(["SCRIPT", "STYLE", "TITLE", "NOSCRIPT", "TEMPLATE"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (!n.nodeValue.trim() || skip.has(n.parentElement.tagName) || n.parentElement.closest("svg"))
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(n);
    const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
    if (!rects.length) continue;  // not rendered (display: none)
    htmlTexts += 1;
    for (const r of rects) htmlAncestors(n.nodeValue, "html", r, n.parentElement);
  }

  // ---- SVG text
  const svgTexts = {};
  const apply = (m, x, y) => ({x: m.a * x + m.c * y + m.e, y: m.b * x + m.d * y + m.f});
  const screenBox = (m, x, y, w, h) => {
    const p = [apply(m, x, y), apply(m, x + w, y), apply(m, x, y + h), apply(m, x + w, y + h)];
    return {left: Math.min(...p.map((q) => q.x)), right: Math.max(...p.map((q) => q.x)),
            top: Math.min(...p.map((q) => q.y)), bottom: Math.max(...p.map((q) => q.y))};
  };
  const roots = Array.from(document.querySelectorAll("svg")).filter((s) => !s.parentElement.closest("svg"));
  roots.forEach((svg, i) => {
    const items = Array.from(svg.querySelectorAll("text, g[id^='text_'], g[id*='-text_']"))
      .filter((t) => !(t.tagName.toLowerCase() === "g" && t.parentElement.closest("g[id^='text_'], g[id*='-text_']")));
    svgTexts[i] = items.length;
    const ctm = svg.getScreenCTM();
    const vb = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal : null;
    const sb = svg.getBoundingClientRect();
    const cs = getComputedStyle(svg);
    const content = {left: sb.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft),
                     top: sb.top + parseFloat(cs.borderTopWidth) + parseFloat(cs.paddingTop)};
    content.right = sb.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
    content.bottom = sb.bottom - parseFloat(cs.borderBottomWidth) - parseFloat(cs.paddingBottom);
    const view = vb ? screenBox(ctm, vb.x, vb.y, vb.width, vb.height) : content;
    const port = {left: Math.max(view.left, content.left), top: Math.max(view.top, content.top),
                  right: Math.min(view.right, content.right), bottom: Math.min(view.bottom, content.bottom)};
    for (const t of items) {
      const r = t.getBoundingClientRect();
      if (!(r.width > 0 || r.height > 0)) continue;
      // glyphs drawn as paths carry no text: name the group and its parent (e.g. "ytick_2/text_10")
      const text = t.textContent.trim() ||
        [t.parentElement.id, t.id].filter(Boolean).map((x) => x.replace(/^c\d+-/, "")).join("/");
      if (cs.overflow !== "visible") checkAgainst(text, "svg", r, port, svg, "clip");
      for (let e = t; e && e !== svg; e = e.parentElement) {
        const ref = e.getAttribute("clip-path");
        const m = ref && ref.match(/url\(\s*["']?#([^"')]+)["']?\s*\)/);
        if (!m) continue;
        const cp = svg.querySelector(`clipPath[id="${CSS.escape(m[1])}"]`);
        const shape = cp && cp.firstElementChild;
        if (!shape) continue;
        const bb = shape.getBBox();
        checkAgainst(text, "svg clip-path", r, screenBox(e.getScreenCTM(), bb.x, bb.y, bb.width, bb.height), e, "clip");
      }
      htmlAncestors(text, "svg", r, svg.parentElement);
    }
  });
  return {clipped, htmlTexts, svgTexts};
}
