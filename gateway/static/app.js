// CE-NAS dashboard: plain JavaScript, hand-written SVG, only the public /v1 API.
//
// The API key is typed once, kept in sessionStorage (this tab only) and sent only in the
// Authorization header of API calls; it never goes into a URL, the DOM or a log.
// Routes live in the URL fragment (#/, #/search/ID, #/forecasts), which browsers do not
// send to the server.
"use strict";
(() => {
  const KEY = "cenas.apiKey";
  const SVGNS = "http://www.w3.org/2000/svg";
  const POLL_MS = 2000;
  const EVALS_PER_PAGE = 20;
  const SEARCHES_PER_PAGE = 50;
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
  // HW-NAS-Bench and the torch task: units of the objectives, for axis labels
  const UNITS = { accuracy: "%", latency_ms: "ms", params: "parameters", flops: "FLOPs" };
  const unitOf = (name) => UNITS[name] || (/_energy$/.test(name) ? "mJ" : /_latency$/.test(name) ? "ms" : "");
  const labelOf = (name) => (unitOf(name) ? `${name} (${unitOf(name)})` : name);

  let generation = 0; // bumps on every route change: stale async work checks it and stops
  let timer = null;
  let rerender = null; // the current page's redraw, for window resizes

  // ---------- DOM helpers ----------
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    return fill(node, attrs, children);
  }
  function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVGNS, tag);
    return fill(node, attrs, children);
  }
  function fill(node, attrs, children) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  }
  const $ = (sel) => document.querySelector(sel);
  const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" :
    Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 }));
  const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");
  const badge = (status) => el("span", { class: `status status-${status}`, "data-status": status, text: status });

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }
  async function api(path, method = "GET") {
    const key = sessionStorage.getItem(KEY);
    if (!key) throw new ApiError(401, "no API key");
    const res = await fetch("/v1" + path, {
      method, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
      headers: { Authorization: "Bearer " + key, Accept: "application/json" },
    });
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      showLogin("The gateway refused that key (401): enter a valid one.");
      throw new ApiError(401, "key refused");
    }
    if (!res.ok) {
      let detail = res.statusText;
      try { const body = await res.json(); detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail); } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, detail);
    }
    return res.json();
  }
  async function allPages(path, cap = 20000) {
    const items = [];
    for (;;) {
      const sep = path.includes("?") ? "&" : "?";
      const page = await api(`${path}${sep}limit=1000&offset=${items.length}`);
      items.push(...page.items);
      if (!page.items.length || items.length >= page.total || items.length >= cap) return items;
    }
  }

  // ---------- charts ----------
  function niceTicks(lo, hi, count = 5) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / count;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
    return ticks;
  }
  function extent(values, pad = 0.05) {
    const finite = values.filter(Number.isFinite);
    if (!finite.length) return [0, 1];
    let lo = Math.min(...finite), hi = Math.max(...finite);
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    const d = (hi - lo) * pad;
    return [lo - d, hi + d];
  }
  function widthOf(container) {
    return Math.max(280, Math.floor(container.clientWidth || 600));
  }
  // A plot area with axes, grid, tick labels and axis titles (units included by callers).
  function frame({ width, height, x, y, xLabel, yLabel, title, id, yTicks, xTicks }) {
    const m = { top: 14, right: 16, bottom: 46, left: 64 };
    const w = width - m.left - m.right, h = height - m.top - m.bottom;
    const sx = (v) => m.left + ((v - x[0]) / (x[1] - x[0])) * w;
    const sy = (v) => m.top + h - ((v - y[0]) / (y[1] - y[0])) * h;
    const root = svg("svg", { class: "chart", id, viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title });
    root.append(svg("title", { text: title }));
    const axes = svg("g", { class: "axis" });
    for (const t of yTicks || niceTicks(y[0], y[1])) {
      if (t < y[0] || t > y[1]) continue;
      axes.append(svg("line", { class: "grid-line", x1: m.left, x2: m.left + w, y1: sy(t), y2: sy(t) }),
        svg("text", { x: m.left - 6, y: sy(t) + 4, "text-anchor": "end", text: fmt(t, 2) }));
    }
    for (const t of xTicks || niceTicks(x[0], x[1], Math.max(2, Math.floor(w / 90)))) {
      if (t < x[0] || t > x[1]) continue;
      axes.append(svg("line", { x1: sx(t), x2: sx(t), y1: m.top + h, y2: m.top + h + 5 }),
        svg("text", { x: sx(t), y: m.top + h + 18, "text-anchor": "middle", text: fmt(t, 2) }));
    }
    axes.append(svg("line", { x1: m.left, x2: m.left + w, y1: m.top + h, y2: m.top + h }),
      svg("line", { x1: m.left, x2: m.left, y1: m.top, y2: m.top + h }),
      svg("text", { class: "axis-label x-label", x: m.left + w / 2, y: height - 6, "text-anchor": "middle", text: xLabel }),
      svg("text", { class: "axis-label y-label", x: -(m.top + h / 2), y: 14, transform: "rotate(-90)", "text-anchor": "middle", text: yLabel }));
    root.append(axes);
    return { root, sx, sy, m, w, h };
  }
  function integerTicks(lo, hi, width) {
    const t = niceTicks(lo, hi, Math.max(2, Math.floor(width / 90))).filter(Number.isInteger);
    return t.length >= 2 ? t : [lo, hi];
  }
  function pathOf(points) {
    return points.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");
  }

  function hvLabel(objectives) {
    const units = (objectives || []).map((o) => unitOf(o.name) || o.name);
    return units.length ? `hypervolume (${units.join(" × ")})` : "hypervolume (objective units)";
  }
  function intervalLabel(spec) {
    const live = (spec.carbon?.signal || "replay") !== "replay";
    return live ? `decision interval (${fmt((spec.carbon?.interval_s || 3600) / 60, 1)} min each)` : "search hour (h)";
  }

  // The part of vanilla NAS's simulated curve worth drawing beside the search: up to the
  // search's own hours, and on the carbon axis up to where vanilla reaches the search's
  // hypervolume (it usually runs on far past the search's grams).
  function vanillaView(baseline, points) {
    if (!baseline || !baseline.available || !baseline.points.length || !points.length) return null;
    const last = points[points.length - 1];
    const hv = Math.max(...points.map((q) => q.hypervolume));
    const within = baseline.points.filter((q) => q.hours <= last.hours + 1e-9);
    if (!within.length) return null;
    const reach = hv > 0 ? baseline.points.find((q) => q.hypervolume >= hv) : null;
    const atHours = within[within.length - 1];
    return { hours: within, carbon: reach ? baseline.points.filter((q) => q.carbon_g <= reach.carbon_g) : within, reach, atHours };
  }

  function stepPath(f, points, key) {
    // a step line: the hypervolume holds until the next improvement
    const steps = [[f.sx(0), f.sy(0)]];
    let last = 0;
    for (const p of points) { steps.push([f.sx(p[key]), f.sy(last)], [f.sx(p[key]), f.sy(p.hypervolume)]); last = p.hypervolume; }
    return pathOf(steps);
  }

  function curveChart(container, points, key, xLabel, id, title, objectives, vanilla) {
    const width = widthOf(container);
    const other = vanilla ? (key === "hours" ? vanilla.hours : vanilla.carbon) : [];
    const xs = [...points, ...other].map((p) => p[key]), ys = [...points, ...other].map((p) => p.hypervolume);
    const x = [0, Math.max(...xs, 1e-9) * 1.02 || 1];
    const y = [0, extent(ys)[1]];
    const f = frame({ width, height: 260, x, y, xLabel, yLabel: hvLabel(objectives), title, id });
    if (other.length) {
      f.root.append(svg("path", { class: "vanilla-line", id: `${id}-vanilla`, "data-points": other.length, d: stepPath(f, other, key) },
        svg("title", { text: `vanilla NAS (simulated): hypervolume ${fmt(other[other.length - 1].hypervolume, 2)} at ${fmt(other[other.length - 1].hours, 1)} h, ${fmt(other[other.length - 1].carbon_g, 0)} gCO2eq` })));
    }
    f.root.append(svg("path", { class: "curve-line", d: stepPath(f, points, key) }));
    for (const p of points) {
      f.root.append(svg("circle", { class: "curve-point", cx: f.sx(p[key]), cy: f.sy(p.hypervolume), r: 2.5 },
        svg("title", { text: `${fmt(p.hours, 2)} h, ${fmt(p.carbon_g, 0)} gCO2eq: hypervolume ${fmt(p.hypervolume, 2)} after ${p.evaluations} evaluations` })));
    }
    return f.root;
  }

  // What the legend under a hypervolume chart says about vanilla NAS.
  function vanillaNote(baseline, vanilla, policy) {
    const items = [["curve", `CE-NAS (${policy || "search"})`]];
    if (vanilla) return legend([...items, ["vanilla", "vanilla NAS, simulated on the same setting"]]);
    const note = !baseline ? "vanilla NAS: no simulated curve for this search (cenas demo simulates one for its own)" : baseline.available ? "vanilla NAS: nothing to draw yet" : `no vanilla curve: ${baseline.reason}`;
    return el("div", {}, legend(items), el("p", { class: "muted vanilla-note", text: note }));
  }

  function paretoChart(container, pareto, evaluations) {
    const width = widthOf(container);
    const [ox, oy] = pareto.objectives;
    if (!ox || !oy) return el("p", { class: "muted", text: "The Pareto plot needs two objectives." });
    const all = evaluations.map((e) => [e.objectives[oy.name], e.objectives[ox.name]]);
    const pts = pareto.points.map((p) => [p.values[oy.name], p.values[ox.name], p]);
    // x: the hardware objective (minimised), y: accuracy (maximised), as papers draw it
    const x = extent([...all.map((a) => a[0]), ...pts.map((p) => p[0])]);
    const y = extent([...all.map((a) => a[1]), ...pts.map((p) => p[1])]);
    const f = frame({ width, height: 320, x, y, xLabel: `${labelOf(oy.name)}, ${oy.goal}imise`, yLabel: `${labelOf(ox.name)}, ${ox.goal}imise`,
      title: `Pareto front: ${pts.length} architectures`, id: "chart-pareto" });
    const others = svg("g", { class: "evaluated" });
    for (const [vx, vy] of all) others.append(svg("circle", { class: "evaluated-point", cx: f.sx(vx), cy: f.sy(vy), r: 2.5 }));
    f.root.append(others);
    const sorted = [...pts].sort((a, b) => a[0] - b[0]);
    if (sorted.length > 1) f.root.append(svg("path", { class: "front-line", d: pathOf(sorted.map(([vx, vy]) => [f.sx(vx), f.sy(vy)])) }));
    const front = svg("g", { class: "front" });
    for (const [vx, vy, p] of pts) {
      const text = `${p.architecture}\n${labelOf(ox.name)}: ${fmt(vy, 3)}\n${labelOf(oy.name)}: ${fmt(vx, 3)}`;
      front.append(svg("circle", { class: "pareto-point", cx: f.sx(vx), cy: f.sy(vy), r: 5, tabindex: 0, "data-architecture": p.architecture,
        "aria-label": text.replace(/\n/g, "; ") }, svg("title", { text })));
    }
    f.root.append(front);
    return f.root;
  }

  // The carbon signal (intensity each decision saw, and the band of the forecast it used)
  // above the GPU split of every decision: one stacked bar per decision.
  function splitChart(container, decisions, spec) {
    const gpus = spec.gpus;
    const width = widthOf(container);
    const n = decisions.length;
    const first = n ? decisions[0].interval : 0;
    const last = n ? decisions[n - 1].interval + 1 : 1;
    const x = [first, last];
    const signalValues = decisions.flatMap((d) => [d.intensity, ...d.forecast]);
    const ys = [0, extent(signalValues)[1]];
    const top = frame({ width, height: 200, x, y: ys, xLabel: intervalLabel(spec), yLabel: "intensity (gCO2eq/kWh)",
      title: "Carbon intensity at each decision and the forecast band it used", id: "chart-signal", xTicks: integerTicks(first, last, width) });
    const bandW = (top.w / Math.max(1, last - first));
    for (const d of decisions) {
      const lo = Math.min(...d.forecast, d.intensity), hi = Math.max(...d.forecast, d.intensity);
      const band = svg("rect", { class: "forecast-band", x: top.sx(d.interval) + 1, width: Math.max(1, bandW - 2), y: top.sy(hi),
        height: Math.max(1, top.sy(lo) - top.sy(hi)), "data-interval": d.interval },
      svg("title", { text: `interval ${d.interval}: forecast used ${fmt(lo, 0)}–${fmt(hi, 0)} gCO2eq/kWh over ${d.forecast.length} intervals ahead` }));
      top.root.append(band);
    }
    const next = decisions.filter((d) => d.forecast.length && d.interval + 1.5 <= last).map((d) => [top.sx(d.interval + 1.5), top.sy(d.forecast[0])]);
    if (next.length > 1) top.root.append(svg("path", { class: "forecast-next", d: pathOf(next) }));
    // a step: each decision's intensity is in force over its interval
    const line = decisions.flatMap((d) => [[top.sx(d.interval), top.sy(d.intensity)], [top.sx(d.interval + 1), top.sy(d.intensity)]]);
    if (line.length) top.root.append(svg("path", { class: "signal-line", d: pathOf(line) }));
    for (const d of decisions) {
      if (d.stale) top.root.append(svg("circle", { class: "stale-mark", cx: top.sx(d.interval + 0.5), cy: top.sy(d.intensity), r: 3 },
        svg("title", { text: `interval ${d.interval}: provider not answering, decided on the last good reading` })));
    }
    const total = Math.max(gpus || 0, ...decisions.map((d) => d.gpus_evaluation + d.gpus_sampling + d.gpus_idle), 1);
    const bottom = frame({ width, height: 210, x, y: [0, total], xLabel: intervalLabel(spec), yLabel: "GPUs (count)",
      title: "GPU split per decision: evaluation, sampling, idle", id: "chart-split", xTicks: integerTicks(first, last, width), yTicks: niceTicks(0, total, Math.min(total, 5)).filter((t) => Number.isInteger(t)) });
    const barW = bottom.w / Math.max(1, last - first);
    for (const d of decisions) {
      const g = svg("g", { class: "split-bar", "data-interval": d.interval });
      let base = 0;
      for (const role of ["evaluation", "sampling", "idle"]) {
        const count = d[`gpus_${role}`];
        if (!count) continue;
        g.append(svg("rect", { class: `role-${role}`, x: bottom.sx(d.interval) + 0.5, width: Math.max(1, barW - 1),
          y: bottom.sy(base + count), height: bottom.sy(base) - bottom.sy(base + count), "data-gpus": count }));
        base += count;
      }
      g.append(svg("title", { text: `interval ${d.interval} (${when(d.valid_from)}): ${d.gpus_evaluation} evaluating, ${d.gpus_sampling} sampling, ` +
        `${d.gpus_idle} idle; ${fmt(d.intensity, 0)} gCO2eq/kWh; policy ${d.policy}${d.fallback ? ` (fallback: ${d.fallback})` : ""}` }));
      bottom.root.append(g);
    }
    return [top.root, bottom.root];
  }

  function forecastChart(container, forecast) {
    const width = widthOf(container);
    const t0 = new Date(forecast.issued_at).getTime();
    const pts = forecast.points.map((p) => ({ ...p, h: (new Date(p.time).getTime() - t0) / 3.6e6 }));
    const ys = pts.flatMap((p) => [p.intensity, p.p10, p.p90]).filter((v) => v !== null && v !== undefined);
    const f = frame({ width, height: 230, x: extent(pts.map((p) => p.h), 0), y: [0, extent(ys)[1]], xLabel: "hours after issue (h)",
      yLabel: "intensity (gCO2eq/kWh)", title: `Forecast for ${forecast.region}`, id: `forecast-${forecast.region}` });
    const banded = pts.filter((p) => p.p10 !== null && p.p90 !== null && p.p10 !== undefined && p.p90 !== undefined);
    if (banded.length > 1) {
      const upper = banded.map((p) => [f.sx(p.h), f.sy(p.p90)]), lower = banded.map((p) => [f.sx(p.h), f.sy(p.p10)]).reverse();
      f.root.append(svg("path", { class: "forecast-band", d: pathOf([...upper, ...lower]) + "Z" }, svg("title", { text: "p10–p90" })));
    }
    f.root.append(svg("path", { class: "forecast-line", d: pathOf(pts.map((p) => [f.sx(p.h), f.sy(p.intensity)])) }));
    return f.root;
  }

  function legend(items) {
    return el("ul", { class: "legend" }, items.map(([cls, text]) => el("li", {}, el("span", { class: `swatch ${cls}`, "aria-hidden": "true" }), text)));
  }

  // ---------- pages ----------
  function setView(...nodes) {
    const view = $("#view");
    view.replaceChildren(...nodes);
  }
  function navCurrent(which) {
    for (const [id, name] of [["#nav-searches", "searches"], ["#nav-forecasts", "forecasts"]]) {
      if (name === which) $(id).setAttribute("aria-current", "page"); else $(id).removeAttribute("aria-current");
    }
  }
  function problem(err) {
    return el("p", { class: "notice failed", role: "alert", id: "page-error", text: `Could not load: ${err.message} (HTTP ${err.status || "?"})` });
  }

  const COLUMNS = ["search", "status", "progress (h)", "evaluations", "hypervolume", "carbon (gCO2eq)", "energy (kWh)", "policy", "region (signal)", "created"];

  async function searchesPage(gen, offset = 0) {
    navCurrent("searches");
    document.title = "Searches · CE-NAS";
    let page;
    try { page = await api(`/searches?limit=${SEARCHES_PER_PAGE}&offset=${offset}`); } catch (err) { if (err.status !== 401 && gen === generation) setView(problem(err)); return; }
    if (gen !== generation) return;
    const heading = el("h1", { id: "page-title", text: "Your searches" });
    if (!page.total) {
      setView(heading, el("div", { class: "empty", id: "searches-empty" },
        el("p", { text: "No searches for this key yet." }),
        el("p", {}, "Submit one with ", el("code", { text: "cenas submit spec.yaml" }), " or POST a SearchSpec to ", el("code", { text: "/v1/searches" }), ".")));
      schedule(gen, () => searchesPage(gen, offset), 5000);
      return;
    }
    const rows = page.items.map((s) => {
      const budget = s.spec?.budget?.hours;
      const done = budget ? Math.min(1, s.progress.elapsed_hours / budget) : null;
      const row = el("tr", { class: "search-row", "data-search-id": s.id, "data-status": s.status },
        el("td", {}, el("a", { href: `#/search/${encodeURIComponent(s.id)}`, text: s.name || s.id })),
        el("td", {}, badge(s.status)),
        el("td", { class: "num" }, budget ? el("progress", { max: 1, value: done, "aria-label": `${Math.round(done * 100)} % of the budget` }) : null,
          ` ${fmt(s.progress.elapsed_hours)}${budget ? ` / ${fmt(budget)}` : ""} h`),
        el("td", { class: "num", text: fmt(s.progress.evaluations, 0) }),
        el("td", { class: "num", text: fmt(s.progress.hypervolume, 2) }),
        el("td", { class: "num", text: fmt(s.progress.carbon_g, 0) }),
        el("td", { class: "num", text: fmt(s.progress.energy_kwh, 2) }),
        el("td", { text: s.spec?.policy || "–" }),
        el("td", { class: "hide-narrow", text: `${s.spec?.carbon?.region || ""} (${s.spec?.carbon?.signal || "replay"})` }),
        el("td", { class: "hide-narrow", text: when(s.created_at) }));
      // on a phone each row is a card: every cell carries its column's name
      [...row.children].forEach((td, i) => td.setAttribute("data-label", COLUMNS[i]));
      return row;
    });
    const head = COLUMNS
      .map((t, i) => el("th", { scope: "col", class: `${[2, 3, 4, 5, 6].includes(i) ? "num" : ""} ${i >= 8 ? "hide-narrow" : ""}`, text: t }));
    const pager = el("div", { class: "pager" },
      el("button", { type: "button", disabled: offset === 0, onclick: () => searchesPage(++generation, Math.max(0, offset - SEARCHES_PER_PAGE)), text: "Newer" }),
      el("span", { text: `${offset + 1}–${offset + page.items.length} of ${page.total}` }),
      el("button", { type: "button", disabled: offset + page.items.length >= page.total, onclick: () => searchesPage(++generation, offset + SEARCHES_PER_PAGE), text: "Older" }));
    setView(heading, el("div", { class: "card" }, el("div", { class: "table-wrap" },
      el("table", { id: "searches-table" }, el("caption", { text: `${page.total} search${page.total === 1 ? "" : "es"}, newest first` }),
        el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows))), page.total > SEARCHES_PER_PAGE ? pager : null));
    if (page.items.some((s) => !FINISHED.has(s.status))) schedule(gen, () => searchesPage(gen, offset), POLL_MS);
  }

  function schedule(gen, fn, ms) {
    clearTimeout(timer);
    timer = setTimeout(() => { if (gen === generation) fn(); }, ms);
  }

  const table = { sort: "finished_at", dir: 1, page: 0 };

  function evaluationsTable(evaluations, objectives) {
    const columns = [
      ["code", "code", true], ["architecture", "architecture", false],
      ...objectives.map((o) => [`obj:${o.name}`, labelOf(o.name), true]),
      ["gpu_hours", "GPU hours (h)", true], ["energy_kwh", "energy (kWh)", true], ["carbon_g", "carbon (gCO2eq)", true], ["finished_at", "finished", false],
    ];
    const value = (e, k) => (k.startsWith("obj:") ? e.objectives[k.slice(4)] : k === "gpu_hours" ? e.gpu_seconds / 3600 : e[k]);
    const sorted = [...evaluations].sort((a, b) => {
      const va = value(a, table.sort), vb = value(b, table.sort);
      return (va < vb ? -1 : va > vb ? 1 : 0) * table.dir;
    });
    const pages = Math.max(1, Math.ceil(sorted.length / EVALS_PER_PAGE));
    table.page = Math.min(table.page, pages - 1);
    const slice = sorted.slice(table.page * EVALS_PER_PAGE, (table.page + 1) * EVALS_PER_PAGE);
    const wrap = el("div", { class: "card wide", id: "evaluations" });
    const redraw = () => wrap.replaceWith(evaluationsTable(evaluations, objectives));
    const head = columns.map(([k, label, numeric]) => el("th", { scope: "col", class: numeric ? "num" : "", "aria-sort": table.sort === k ? (table.dir > 0 ? "ascending" : "descending") : "none" },
      el("button", { type: "button", "data-sort": k, text: label, onclick: () => { table.dir = table.sort === k ? -table.dir : 1; table.sort = k; table.page = 0; redraw(); } })));
    const rows = slice.map((e) => el("tr", { class: "evaluation-row", "data-code": e.code },
      columns.map(([k, , numeric]) => {
        const v = value(e, k);
        if (k === "architecture") return el("td", { class: "arch", text: v });
        if (k === "finished_at") return el("td", { text: when(v) });
        return el("td", { class: numeric ? "num" : "", text: k === "code" ? String(v) : fmt(v, 3) });
      })));
    fill(wrap, {}, [el("h2", { text: "Evaluations" }),
      evaluations.length ? el("div", { class: "table-wrap" }, el("table", { id: "evaluations-table" },
        el("caption", { id: "evaluations-total", "data-total": evaluations.length, text: `${evaluations.length} architectures trained from scratch; select a column heading to sort` }),
        el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows))) : el("p", { class: "empty", text: "No evaluation has finished yet." }),
      evaluations.length > EVALS_PER_PAGE ? el("div", { class: "pager" },
        el("button", { type: "button", id: "evaluations-prev", disabled: table.page === 0, onclick: () => { table.page -= 1; redraw(); }, text: "Previous" }),
        el("span", { id: "evaluations-page", text: `page ${table.page + 1} of ${pages}` }),
        el("button", { type: "button", id: "evaluations-next", disabled: table.page >= pages - 1, onclick: () => { table.page += 1; redraw(); }, text: "Next" })) : null]);
    return wrap;
  }

  async function searchPage(gen, id) {
    navCurrent("searches");
    const state = { evaluations: [], evalCount: -1, confirming: false };
    table.page = 0;
    const load = async () => {
      const search = await api(`/searches/${encodeURIComponent(id)}`);
      const [curve, pareto, decisions] = await Promise.all([
        api(`/searches/${encodeURIComponent(id)}/curve`), api(`/searches/${encodeURIComponent(id)}/pareto`),
        allPages(`/searches/${encodeURIComponent(id)}/decisions`)]);
      if (search.progress.evaluations !== state.evalCount || FINISHED.has(search.status)) {
        state.evaluations = await allPages(`/searches/${encodeURIComponent(id)}/evaluations`);
        state.evalCount = search.progress.evaluations;
      }
      return { search, curve, pareto, decisions };
    };
    let data;
    try { data = await load(); } catch (err) {
      if (gen !== generation || err.status === 401) return;
      if (err.status === 404) {
        setView(el("h1", { id: "page-title", text: "Search not found" }), el("div", { class: "empty", id: "search-missing" },
          el("p", { text: `No search ${id} for this key: it does not exist or belongs to another key.` }), el("p", {}, el("a", { href: "#/", text: "Back to your searches" }))));
        return;
      }
      setView(problem(err));
      return;
    }
    if (gen !== generation) return;
    const draw = () => renderSearch(gen, id, data, state);
    rerender = draw;
    draw();
    const tick = async () => {
      if (gen !== generation) return;
      try { data = await load(); } catch (err) { if (err.status === 401) return; }
      if (gen !== generation) return;
      draw();
      if (!FINISHED.has(data.search.status) || !data.search.settled_at) schedule(gen, tick, POLL_MS);
    };
    if (!FINISHED.has(data.search.status) || !data.search.settled_at) schedule(gen, tick, POLL_MS);
  }

  // "vanilla NAS to this hypervolume": the simulated grams, and how many more than the search's
  function vanillaTotal(baseline, p) {
    if (!baseline || !baseline.available || !(p.hypervolume > 0)) return [];
    const reach = baseline.points.find((q) => q.hypervolume >= p.hypervolume);
    if (!reach) return [["vanilla NAS to this hypervolume (simulated)", `not reached in ${fmt(baseline.hours, 0)} h (${fmt(baseline.carbon_g, 0)} gCO2eq spent)`, "vanilla"]];
    const saved = reach.carbon_g > 0 ? 100 * (1 - p.carbon_g / reach.carbon_g) : null;
    const versus = saved === null ? "" : ` (CE-NAS ${fmt(Math.abs(saved), 0)} % ${saved >= 0 ? "less" : "more"})`;
    return [["vanilla NAS to this hypervolume (simulated)", `${fmt(reach.carbon_g, 0)} gCO2eq at ${fmt(reach.hours, 1)} h${versus}`, "vanilla"]];
  }

  function renderSearch(gen, id, { search, curve, pareto, decisions }, state) {
    const s = search, p = s.progress, spec = s.spec || {};
    document.title = `${s.name} · CE-NAS`;
    const budget = spec.budget?.hours;
    const focused = document.activeElement && document.activeElement.id;
    const notices = [];
    if (s.status === "failed") notices.push(el("div", { class: "notice failed", role: "alert", id: "search-error" }, el("strong", { text: "Failed: " }), s.error || "no reason given"));
    if (s.status === "cancelled") notices.push(el("div", { class: "notice cancelled", id: "search-cancelled" }, el("strong", { text: "Cancelled" }), `: ${s.error || "stopped by its owner"}; the figures below are what it had reached.`));
    if (s.status === "queued") notices.push(el("div", { class: "notice info", id: "search-queued", text: "Queued: waiting for the optimizer and free GPUs. This page updates by itself." }));
    if (s.status === "running") notices.push(el("div", { class: "notice info", id: "search-live", text: `Running: updated every ${POLL_MS / 1000} s.` }));
    if (FINISHED.has(s.status) && !s.settled_at) notices.push(el("div", { class: "notice info", text: "Finished; the last GPU time is still being charged, so the totals may still grow a little." }));
    for (const w of s.warnings || []) notices.push(el("div", { class: "notice info warning", text: `Note: ${w}` }));

    const actions = el("div", { class: "actions" }, el("a", { href: "#/", text: "← All searches" }));
    if (!FINISHED.has(s.status)) {
      // the page redraws on every poll: whether the owner is confirming lives in `state`
      const confirmBox = el("span", { id: "cancel-confirm-box", hidden: !state.confirming }, "Stop this search? ",
        el("button", { type: "button", class: "danger", id: "cancel-confirm", onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api(`/searches/${encodeURIComponent(id)}`, "DELETE"); } catch (err) { confirmBox.append(el("span", { class: "error", text: ` ${err.message}` })); return; }
          state.confirming = false;
          route();
        }, text: "Yes, cancel it" }), " ",
        el("button", { type: "button", id: "cancel-keep", onclick: () => { state.confirming = false; confirmBox.hidden = true; cancel.hidden = false; cancel.focus(); }, text: "Keep running" }));
      const cancel = el("button", { type: "button", class: "danger", id: "cancel", hidden: state.confirming,
        onclick: () => { state.confirming = true; cancel.hidden = true; confirmBox.hidden = false; $("#cancel-confirm").focus(); }, text: "Cancel search" });
      actions.append(cancel, confirmBox);
    }

    const a = s.allocation;
    const totals = el("dl", { class: "totals", id: "totals" },
      [["search hours", `${fmt(p.elapsed_hours, 1)}${budget ? ` / ${fmt(budget)}` : ""} h`, "hours"],
        ["evaluations", fmt(p.evaluations, 0), "evaluations"], ["samples", fmt(p.samples, 0), "samples"],
        ["hypervolume", fmt(p.hypervolume, 2), "hypervolume"], ["carbon", `${fmt(p.carbon_g, 0)} gCO2eq`, "carbon"],
        ["energy", `${fmt(p.energy_kwh, 2)} kWh`, "energy"],
        ["GPUs now (eval / sample / idle)", `${a.evaluation} / ${a.sampling} / ${a.idle}`, "allocation"],
        ["pareto architectures", fmt(pareto.points.length, 0), "pareto"],
        ...vanillaTotal(curve.baseline, p)]
        .map(([dt, dd, key]) => el("div", { "data-total": key }, el("dt", { text: dt }), el("dd", { text: dd }))));

    const cards = el("div", { class: "grid" });
    const card = (title, cls = "") => { const c = el("section", { class: `card ${cls}` }, el("h2", { text: title })); cards.append(c); return c; };
    const hvHours = card("Hypervolume vs search hours");
    const hvCarbon = card("Hypervolume vs carbon");
    const paretoCard = card(`Pareto front (${pareto.points.length} architectures)`, "wide");
    const splitCard = card("Carbon signal and the GPU split per decision", "wide");
    setView(el("h1", { id: "page-title" }, `${s.name} `, badge(s.status)),
      el("div", { class: "meta" }, el("span", { text: `id ${s.id}` }), el("span", { text: `policy ${spec.policy || "–"}` }),
        el("span", { text: `task ${spec.task?.kind || "?"}${spec.task?.dataset ? ` ${spec.task.dataset}` : ""}` }), el("span", { text: `${spec.gpus} GPUs` }),
        el("span", { text: `${spec.carbon?.region || ""} · ${spec.carbon?.signal || "replay"}` }), el("span", { text: `accounting ${spec.accounting || "–"}` }),
        el("span", { text: `created ${when(s.created_at)}` })),
      actions, ...notices, totals, cards);
    // charts measure their card, so they are drawn once the cards are in the page
    const hasCurve = curve.points.some((q) => q.evaluations > 0);
    const vanilla = hasCurve ? vanillaView(curve.baseline, curve.points) : null;
    hvHours.append(hasCurve ? curveChart(hvHours, curve.points, "hours", "search hours (h)", "chart-hv-hours", "Hypervolume against search hours", pareto.objectives, vanilla)
      : el("p", { class: "empty", text: "No evaluation has finished yet." }), vanillaNote(curve.baseline, vanilla, spec.policy));
    hvCarbon.append(hasCurve ? curveChart(hvCarbon, curve.points, "carbon_g", "carbon emitted (gCO2eq)", "chart-hv-carbon", "Hypervolume against grams of CO2", pareto.objectives, vanilla)
      : el("p", { class: "empty", text: "No evaluation has finished yet." }), vanillaNote(curve.baseline, vanilla, spec.policy));
    paretoCard.append(pareto.points.length ? paretoChart(paretoCard, pareto, state.evaluations) : el("p", { class: "empty", id: "pareto-empty", text: "No Pareto front yet." }),
      legend([["front", "Pareto-optimal (hover or focus for the architecture)"], ["other", "other evaluated architectures"]]));
    if (decisions.length) {
      splitCard.append(...splitChart(splitCard, decisions, spec),
        legend([["signal", "intensity at the decision"], ["forecast", "range of the forecast it used"], ["next", "its forecast for the next interval"],
          ["evaluation", "evaluation GPUs"], ["sampling", "sampling GPUs"], ["idle", "idle GPUs"]]));
    } else splitCard.append(el("p", { class: "empty", id: "split-empty", text: "The scheduler has not decided yet." }));
    cards.append(evaluationsTable(state.evaluations, pareto.objectives));
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  }

  async function forecastsPage(gen) {
    navCurrent("forecasts");
    document.title = "Forecasts · CE-NAS";
    let regions;
    try { regions = (await api("/forecasts")).regions; } catch (err) { if (err.status !== 401 && gen === generation) setView(problem(err)); return; }
    if (gen !== generation) return;
    const heading = el("h1", { id: "page-title", text: "Carbon forecasts per region" });
    if (!regions.length) {
      setView(heading, el("div", { class: "empty", id: "forecasts-empty", text: "No forecast stored yet: the forecaster service publishes one per region as it runs." }));
      schedule(gen, () => forecastsPage(gen), 5000);
      return;
    }
    const forecasts = await Promise.all(regions.map((r) => api(`/forecasts/${encodeURIComponent(r)}`).catch(() => null)));
    if (gen !== generation) return;
    const grid = el("div", { class: "grid" });
    setView(heading, el("p", { class: "muted", text: "The latest forecast the forecaster service stored for each region, with its p10–p90 band where the model gives one." }), grid);
    const draw = () => {
      grid.replaceChildren();
      forecasts.forEach((f, i) => {
        const c = el("section", { class: "card forecast", "data-region": regions[i] }, el("h2", { text: regions[i] }));
        grid.append(c);
        if (!f) { c.append(el("p", { class: "empty", text: "Could not load this forecast." })); return; }
        c.append(el("div", { class: "meta" }, el("span", { text: `issued ${when(f.issued_at)}` }), el("span", { text: `model ${f.model}` }),
          el("span", { text: `signal ${f.signal}` }), f.actual_intensity !== null ? el("span", { text: `last actual ${fmt(f.actual_intensity, 0)} gCO2eq/kWh` }) : null,
          f.stale ? el("span", { class: "error", text: "stale" }) : null), forecastChart(c, f),
          legend([["signal", "forecast intensity"], ["forecast", "p10–p90"]]));
      });
    };
    rerender = draw;
    draw();
  }

  // ---------- key, routing ----------
  function showLogin(message = "") {
    generation += 1;
    clearTimeout(timer);
    $("#view").replaceChildren();
    $("#login").hidden = false;
    $("#sign-out").hidden = true;
    $("#login-error").textContent = message;
    $("#api-key").value = "";
    $("#api-key").focus();
  }

  function route() {
    generation += 1;
    clearTimeout(timer);
    rerender = null;
    const gen = generation;
    if (!sessionStorage.getItem(KEY)) { showLogin(); return; }
    $("#login").hidden = true;
    $("#sign-out").hidden = false;
    const hash = location.hash || "#/";
    const m = hash.match(/^#\/search\/([^/]+)$/);
    if (m) searchPage(gen, decodeURIComponent(m[1]));
    else if (hash === "#/forecasts") forecastsPage(gen);
    else if (hash.startsWith("#/") || hash === "#") searchesPage(gen);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("#api-key");
      const key = input.value.trim();
      input.value = "";
      if (!key) { $("#login-error").textContent = "Enter an API key."; return; }
      sessionStorage.setItem(KEY, key);
      $("#login-error").textContent = "";
      route();
      $("#main").focus();
    });
    $("#sign-out").addEventListener("click", () => { sessionStorage.removeItem(KEY); showLogin("Key forgotten for this tab."); });
    $("#skip-link").addEventListener("click", (ev) => { ev.preventDefault(); $("#main").focus(); });
    window.addEventListener("hashchange", route);
    let resize = null;
    window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(() => rerender && rerender(), 150); });
    route();
  });
})();
