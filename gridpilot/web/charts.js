// gridpilot dashboard charts: plain SVG, no library, no network.
// chart(svg, opts) draws time series on one or two value axes.
//   opts.series: [{name, color, axis: "left"|"right", kind: "line"|"step"|"bar",
//                  points: [[ms, value|null], ...], end: ms (for the last step)}]
//   opts.x0, opts.x1: time range [ms]; opts.left/right: axis labels; opts.now: ms (a marker)
"use strict";
(function (global) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 900, H = 260, ML = 56, MR = 56, MT = 36, MB = 28;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }

  function range(series, axis) {
    let lo = Infinity, hi = -Infinity;
    for (const s of series) {
      if ((s.axis || "left") !== axis) continue;
      for (const [, v] of s.points) {
        if (v === null || !isFinite(v)) continue;
        lo = Math.min(lo, v); hi = Math.max(hi, v);
      }
      if (s.kind === "bar") { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    }
    if (!isFinite(lo)) return null;
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.06;
    return [lo - pad, hi + pad];
  }

  function fmt(v) {
    const a = Math.abs(v);
    if (a >= 1000) return (v / 1000).toFixed(1) + "k";
    if (a >= 10) return v.toFixed(0);
    if (a >= 1) return v.toFixed(1);
    return v.toFixed(3);
  }

  function chart(svg, opts) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img");
    const x0 = opts.x0, x1 = Math.max(opts.x1, opts.x0 + 1);
    const sx = (t) => ML + (t - x0) / (x1 - x0) * (W - ML - MR);
    const ranges = {left: range(opts.series, "left"), right: range(opts.series, "right")};
    const sy = (axis, v) => {
      const r = ranges[axis];
      return MT + (1 - (v - r[0]) / (r[1] - r[0])) * (H - MT - MB);
    };
    const grid = el("g", {class: "grid"}, svg);
    for (const axis of ["left", "right"]) {
      const r = ranges[axis];
      if (!r) continue;
      for (let i = 0; i <= 4; i++) {
        const v = r[0] + (r[1] - r[0]) * i / 4, y = sy(axis, v);
        if (axis === "left") el("line", {x1: ML, x2: W - MR, y1: y, y2: y}, grid);
        const t = el("text", {x: axis === "left" ? ML - 4 : W - MR + 4, y: y + 4,
                              "text-anchor": axis === "left" ? "end" : "start"}, grid);
        t.textContent = fmt(v);
      }
      const label = el("text", {x: axis === "left" ? 4 : W - 4, y: MT - 14,
                                "text-anchor": axis === "left" ? "start" : "end",
                                class: "axis-label"}, grid);
      label.textContent = opts[axis] || "";
    }
    // Time labels: at most about ten, on whole hours or local midnights.
    const hourMs = 3600e3, spanH = (x1 - x0) / hourMs;
    const stepH = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720].find((h) => spanH / h <= 10) || 720;
    for (let t = Math.ceil(x0 / hourMs) * hourMs; t <= x1; t += hourMs) {
      const d = new Date(t);
      const day = Math.round((t - d.getTimezoneOffset() * 60e3) / 86400e3);  // local days
      const due = stepH < 24 ? d.getHours() % stepH === 0
        : d.getHours() === 0 && day % (stepH / 24) === 0;
      if (!due) continue;
      el("line", {x1: sx(t), x2: sx(t), y1: MT, y2: H - MB, class: "vgrid"}, grid);
      const lab = el("text", {x: sx(t), y: H - 10, "text-anchor": "middle"}, grid);
      lab.textContent = d.getHours() === 0
        ? d.toLocaleDateString([], stepH < 24 ? {weekday: "short"} : {weekday: "short", day: "numeric"})
        : String(d.getHours()).padStart(2, "0") + ":00";
    }
    for (const s of opts.series) {
      const axis = s.axis || "left";
      if (!ranges[axis]) continue;
      const g = el("g", {class: "series", "data-series": s.name, "data-points": s.points.length},
                   svg);
      if (s.kind === "bar") {
        const zero = sy(axis, 0);
        s.points.forEach(([t, v], i) => {
          if (v === null) return;
          const tEnd = i + 1 < s.points.length ? s.points[i + 1][0] : (s.end || t);
          const y = sy(axis, v);
          el("rect", {x: sx(t), width: Math.max(1, sx(tEnd) - sx(t) - 1),
                      y: Math.min(y, zero), height: Math.max(1, Math.abs(zero - y)),
                      fill: s.color, "fill-opacity": 0.55, "data-value": v}, g);
        });
        continue;
      }
      let d = "", pen = false;
      s.points.forEach(([t, v], i) => {
        if (v === null || !isFinite(v)) { pen = false; return; }
        const x = sx(t), y = sy(axis, v);
        d += (pen ? (s.kind === "step" ? `H${x}V${y}` : `L${x},${y}`) : `M${x},${y}`);
        pen = true;
        if (s.kind === "step") {
          const tEnd = i + 1 < s.points.length ? s.points[i + 1][0] : (s.end || t);
          d += `H${sx(tEnd)}`;
        }
      });
      el("path", {d, fill: "none", stroke: s.color, "stroke-width": 2}, g);
    }
    if (opts.now !== undefined && opts.now >= x0 && opts.now <= x1) {
      el("line", {x1: sx(opts.now), x2: sx(opts.now), y1: MT, y2: H - MB, class: "now"}, svg);
    }
    const legend = el("g", {class: "legend"}, svg);
    let lx = ML;
    for (const s of opts.series) {
      el("rect", {x: lx, y: 4, width: 10, height: 4, fill: s.color}, legend);
      const t = el("text", {x: lx + 14, y: 10}, legend);
      t.textContent = s.name;
      lx += 14 + 7 * s.name.length + 14;
    }
  }

  global.gpChart = chart;
})(window);
