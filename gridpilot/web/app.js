// gridpilot dashboard: reads the status API, draws it, refreshes itself. Every value is put
// into the page as text (textContent), never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const REFRESH_MS = Math.max(1, Number(params.get("refresh") || 10)) * 1000;
  let csrf = null, tz, query = "", open = new Set();

  function node(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fill(dl, pairs) {
    dl.replaceChildren();
    for (const [k, v] of pairs) { dl.append(node("dt", k), node("dd", v === null || v === undefined ? "–" : v)); }
  }
  const w = (v, sign) => (typeof v === "number" ? (sign && v > 0 ? "+" : "") + v.toFixed(0) + " W" : "–");
  const pct = (v) => (typeof v === "number" ? v.toFixed(1) + " %" : "–");
  const time = (iso, withDay) => {
    if (!iso) return "–";
    const opts = {hour: "2-digit", minute: "2-digit", timeZone: tz};
    if (withDay) opts.weekday = "short";
    try { return new Date(iso).toLocaleString([], opts); } catch (e) { return iso; }
  };
  const ms = (iso) => new Date(iso).getTime();

  async function api(path, options) {
    const r = await fetch(path, Object.assign({credentials: "same-origin"}, options || {}));
    if (r.status === 401) { $("login").hidden = false; throw new Error("not logged in"); }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
    $("login").hidden = true;
    return data;
  }
  async function change(method, path, body) {
    if (!csrf) csrf = (await api("/api/session")).csrf_token;
    const headers = {"X-CSRF-Token": csrf};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return api(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  }

  function drawStatus(s) {
    tz = s.timezone;
    $("site").textContent = s.site;
    const mode = $("mode");
    mode.textContent = s.mode + (s.dry_run ? " (dry run)" : "");
    mode.className = "badge " + s.mode;
    $("updated").textContent = "tick " + s.tick + " at " + time(s.last_tick, true);
    const d = s.decision;
    $("command").textContent = d ? d.describe : "no decision yet";
    $("why").textContent = d ? d.winner + ": " + d.reason : "";
    const r = s.readings || {};
    fill($("readings"), [["SOC", pct(r.soc_pct)], ["load", w(r.load_w)], ["PV", w(r.pv_w)],
      ["grid", w(r.grid_w, true)], ["battery", w(r.battery_w, true)]]);
    const p = s.prices || {}, cur = p.currency || "";
    const pr = (slot) => slot ? slot.import_per_kwh.toFixed(4) + " " + cur + " at " + time(slot.start, true) : "–";
    fill($("prices"), [["now", p.now ? p.now.import_per_kwh.toFixed(4) + " / " + p.now.export_per_kwh.toFixed(4) : "–"],
      ["next cheapest", pr(p.next_cheap)], ["next dearest", pr(p.next_dear)]]);
    const c = s.cost_today || {};
    fill($("cost"), [["cost", c.cost !== undefined ? c.cost.toFixed(2) + " " + c.currency : "–"],
      ["without battery", c.cost_without_battery !== undefined ? c.cost_without_battery.toFixed(2) : "–"],
      ["saved", c.saving !== undefined ? c.saving.toFixed(2) : "–"],
      ["hours counted", c.hours_covered]]);
    drawOverrides(s.overrides || []);
    const h = s.health || {};
    const err = (e) => e ? time(e.ts, true) + " " + e.kind + ": " + e.error : "none";
    fill($("health"), [["status", h.status], ["fail-safe", h.failsafe ? "ACTIVE" : "no"],
      ["data age", typeof h.state_age_s === "number" ? h.state_age_s.toFixed(0) + " s" : "–"],
      ["since last tick", typeof h.seconds_since_tick === "number" ? h.seconds_since_tick.toFixed(0) + " s" : "–"],
      ["last device error", err(h.last_device_error)], ["last error", err(h.last_error)],
      ["prices", h.prices ? JSON.stringify(h.prices) : "static tariff"],
      ["forecast", h.forecast ? JSON.stringify(h.forecast) : "–"]]);
  }

  function drawCharts(plan, prices, actuals, nowIso) {
    const now = ms(nowIso);
    const slots = prices.slots || [];
    const x1 = Math.max(now + 3600e3, ...slots.map((s) => ms(s.end)), ...plan.slots.map((s) => ms(s.end)));
    const end = slots.length ? ms(slots[slots.length - 1].end) : now;
    gpChart($("chart-prices"), {x0: now, x1, now, left: (prices.currency || "") + "/kWh", series: [
      {name: "import", color: "#c62828", kind: "step", end, points: slots.map((s) => [ms(s.start), s.import_per_kwh])},
      {name: "export", color: "#1565c0", kind: "step", end, points: slots.map((s) => [ms(s.start), s.export_per_kwh])},
    ]});
    const pl = plan.slots, pend = pl.length ? ms(pl[pl.length - 1].end) : now;
    gpChart($("chart-plan"), {x0: now, x1, now, left: "W", right: "SOC %", series: [
      {name: "battery (plan)", color: "#6a1b9a", kind: "bar", end: pend, points: pl.map((s) => [ms(s.start), s.battery_w])},
      {name: "load (forecast)", color: "#ef6c00", kind: "step", end: pend, points: pl.map((s) => [ms(s.start), s.load_w])},
      {name: "PV (forecast)", color: "#f9a825", kind: "step", end: pend, points: pl.map((s) => [ms(s.start), s.pv_w])},
      {name: "SOC (plan)", color: "#1a7f37", kind: "line", axis: "right",
       points: pl.map((s) => [ms(s.end), s.soc_pct])},
    ]});
    const t = actuals.ticks;
    gpChart($("chart-actuals"), {x0: now - actuals.hours * 3600e3, x1: now, now, left: "W", right: "SOC %", series: [
      {name: "battery", color: "#6a1b9a", kind: "line", points: t.map((r) => [ms(r.ts), r.battery_w])},
      {name: "grid", color: "#455a64", kind: "line", points: t.map((r) => [ms(r.ts), r.grid_w])},
      {name: "load", color: "#ef6c00", kind: "line", points: t.map((r) => [ms(r.ts), r.load_w])},
      {name: "PV", color: "#f9a825", kind: "line", points: t.map((r) => [ms(r.ts), r.pv_w])},
      {name: "SOC", color: "#1a7f37", kind: "line", axis: "right", points: t.map((r) => [ms(r.ts), r.soc_pct])},
    ]});
  }

  function proposal(p) {
    if (!p) return "–";
    return Object.entries(p).filter(([, v]) => v !== null).map(([k, v]) => k === "kind" ? v : k + " " + v).join(", ");
  }
  function table(head, rows, rowClass) {
    const t = node("table"), th = node("tr");
    head.forEach((h) => th.append(node("th", h)));
    t.append(node("thead")); t.tHead.append(th);
    const body = node("tbody");
    rows.forEach((r, i) => {
      const tr = node("tr", undefined, rowClass ? rowClass(i) : "");
      r.forEach((c) => tr.append(node("td", c)));
      body.append(tr);
    });
    t.append(body);
    return t;
  }
  // The trace of one decision: what won and why, every candidate, every limit that bound it.
  function traceView(d, extra) {
    const box = node("div", undefined, "trace");
    if (!d) { box.append(node("p", extra || "no decision")); return box; }
    box.append(node("p", (d.describe || proposal(d.command)) + " — winner " + d.winner + " (" + d.layer + ")", "big"));
    box.append(node("p", d.reason));
    if (d.candidates && d.candidates.length) {
      box.append(node("h3", "candidates"));
      box.append(table(["source", "layer", "outcome", "proposal", "reason"],
        d.candidates.map((c) => [c.source, c.layer || "", c.outcome, proposal(c.proposal), c.reason]),
        (i) => d.candidates[i].outcome === "won" ? "won" : ""));
    }
    box.append(node("h3", "limits"));
    if (d.limits && d.limits.length) {
      box.append(table(["limit", "field", "before", "after", "note"],
        d.limits.map((h) => [h.limit, h.field, h.before, h.after, h.note])));
    } else box.append(node("p", "no limit changed the command"));
    if (d.notes && d.notes.length) { const ul = node("ul"); d.notes.forEach((n) => ul.append(node("li", n))); box.append(ul); }
    return box;
  }
  function drawTrace(t) {
    const box = $("trace");
    const d = t.decision;
    box.replaceChildren(traceView(d, t.message || "no decision yet"));
    if (t.dispatch) box.append(node("p", "sent: " + t.dispatch.status + (t.dispatch.detail ? " (" + t.dispatch.detail + ")" : "")));
  }
  function drawDecisions(list) {
    const box = $("decisions");
    box.replaceChildren();
    for (const r of list.decisions) {
      const det = node("details");
      const key = r.ts;
      det.open = open.has(key);
      det.addEventListener("toggle", () => { det.open ? open.add(key) : open.delete(key); });
      const d = r.decision;
      det.append(node("summary", time(r.ts, true) + "  " + (d ? d.describe + " — " + d.winner : r.status + ": " + (r.error || ""))));
      det.append(traceView(d, r.error));
      box.append(det);
    }
    if (!list.decisions.length) box.append(node("p", query ? "no decision matches" : "no decisions yet"));
  }
  function drawOverrides(list) {
    const body = $("overrides").tBodies[0];
    body.replaceChildren();
    for (const o of list) {
      const tr = node("tr");
      tr.append(node("td", o.name), node("td", proposal(o.action) + (o.force ? " (force)" : "")), node("td", time(o.until, true)));
      const td = node("td"), b = node("button", "Clear");
      b.type = "button";
      b.dataset.name = o.name;
      b.addEventListener("click", () => change("DELETE", "/overrides/" + encodeURIComponent(o.name))
        .then(() => { $("override-result").textContent = "cleared " + o.name; refresh(); })
        .catch((e) => { $("override-result").textContent = e.message; }));
      td.append(b); tr.append(td); body.append(tr);
    }
    if (!list.length) { const tr = node("tr"); tr.append(node("td", "none")); body.append(tr); }
  }

  async function refresh() {
    try {
      const [s, plan, prices, actuals, trace, decisions] = await Promise.all([
        api("/api/status"), api("/api/plan?hours=48"), api("/api/prices"), api("/api/actuals?hours=24"),
        api("/api/trace"), api("/api/decisions?limit=50&q=" + encodeURIComponent(query))]);
      drawStatus(s);
      drawCharts(plan, prices, actuals, s.time);
      drawTrace(trace);
      drawDecisions(decisions);
      $("problem").hidden = !plan.error;
      $("problem").textContent = plan.error ? "the plan could not be worked out: " + plan.error : "";
      document.body.dataset.loaded = String(s.tick);
    } catch (e) {
      if (e.message !== "not logged in") { $("problem").hidden = false; $("problem").textContent = "update failed: " + e.message; }
    }
  }

  $("override-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target), action = {kind: f.get("kind")};
    for (const k of ["power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w"]) {
      if (f.get(k)) action[k] = Number(f.get(k));
    }
    const body = {action, for_s: Number(f.get("minutes")) * 60, force: f.get("force") === "on"};
    if (f.get("name")) body.name = f.get("name");
    change("POST", "/overrides", body)
      .then((r) => { $("override-result").textContent = "set " + r.override.name; refresh(); })
      .catch((e) => { $("override-result").textContent = e.message; });
  });
  let timer = null;
  $("search").addEventListener("input", (ev) => {
    query = ev.target.value;
    clearTimeout(timer);
    timer = setTimeout(() => api("/api/decisions?limit=50&q=" + encodeURIComponent(query)).then(drawDecisions).catch(() => {}), 250);
  });
  $("logout").addEventListener("click", () => change("POST", "/api/logout").then(() => location.reload()).catch(() => {}));
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
