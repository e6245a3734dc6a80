// The observer page: polls the container's JSON every second and renders
// it. No framework, nothing fetched but this container's own /api/.
"use strict";

const POLL_MS = 1000;
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (r.status === 404) return { missing: true };
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function fillBody(table, rows) {
  const tbody = table.querySelector("tbody");
  tbody.replaceChildren(...rows);
}

function ms(n) {
  if (n == null) return "-";
  return n < 1 ? (n * 1000).toFixed(0) + " µs" : n.toFixed(2) + " ms";
}

function renderSummary(s) {
  $("#release").textContent = `${s.release.name} ${s.release.version}`;
  document.body.dataset.release = s.release.version;
  const items = [["uptime", (s.uptime_ms / 1000).toFixed(0) + " s"], ["schedulers", s.schedulers],
                 ["actors", s.actors], ["pid", s.os_pid]];
  $("#summary").replaceChildren(...items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderModules(s) {
  fillBody($("#modules"), s.modules.map((m) =>
    el("tr", { "data-module": m.name, "data-current": m.current || "", "data-old": m.old || "" },
       el("td", {}, m.name), el("td", {}, m.current_label || m.current || "-"),
       el("td", { class: "num" }, m.current_actors ?? "-"),
       el("td", {}, m.old_label || m.old || "-"), el("td", { class: "num" }, m.old_actors ?? "-"))));
}

function renderTree(t, s) {
  const running = {};
  for (const m of s.modules) running[m.name] = m;
  const node = (n) => {
    if (n.children) {
      return el("li", { "data-sup": n.name || n.id },
        el("span", { class: "sup" }, n.name || n.id),
        el("span", { class: "tag" }, `${n.strategy}, ${n.intensity} in ${n.period_ms} ms`),
        el("ul", {}, ...n.children.map(node)));
    }
    const m = running[n.module];
    return el("li", { "data-child": n.id, "data-module": n.module },
      n.id, el("span", { class: "tag" }, `${n.module}${n.count > 1 ? " ×" + n.count : ""}, ${n.restart}`),
      el("span", { class: "vsn" }, m ? (m.current_label || m.current) : "not loaded"));
  };
  $("#tree").replaceChildren(t.root ? el("ul", {}, node(t.root)) : el("p", { class: "muted" }, "no supervisor"));
}

function renderReleases(r) {
  const list = Array.isArray(r) ? r : null;
  if (!list) {
    fillBody($("#releases"), [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "no release store (molt dev --module)"))]);
    return;
  }
  fillBody($("#releases"), list.map((x) =>
    el("tr", { "data-vsn": x.version, "data-state": x.state },
       el("td", {}, x.version), el("td", { class: "state-" + x.state }, x.state),
       el("td", { class: "muted" }, x.running ? "running" : x.rollback_target ? "rollback target" : ""))));
}

function renderChanges(c) {
  const rows = c.recent.map((x) =>
    el("tr", { "data-outcome": x.outcome },
       el("td", {}, new Date(x.time_ms).toLocaleTimeString()), el("td", {}, x.modules),
       el("td", { class: "outcome-" + x.outcome }, x.outcome), el("td", { class: "num" }, ms(x.pause_ms)),
       el("td", { class: "num" }, x.actors)));
  fillBody($("#changes"), rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "none since start"))]);
}

function renderAlarms(a) {
  if (a.missing) {
    $("#alarms").textContent = "none: this container reports no alarms";
    return;
  }
  const list = a.alarms || [];
  $("#alarms").replaceChildren(list.length
    ? el("ul", {}, ...list.map((x) => el("li", { class: "error" },
        `${x.alarm} ${x.subject}${x.module ? " (" + x.module + ")" : ""}: ${x.value} over ${x.limit}, ` +
        `for ${Math.round(x.since_ms / 1000)} s`)))
    : el("span", { class: "muted" }, "none"));
}

// The actors table: its columns are whatever ps reports (vital signs
// included, when the container has them); a click on a header sorts.
const sort = { key: "pid", dir: 1 };
let lastActors = [];

function compare(a, b) {
  const x = a[sort.key], y = b[sort.key];
  if (typeof x === "number" && typeof y === "number") return (x - y) * sort.dir;
  if (sort.key === "pid") return (pidNum(x) - pidNum(y)) * sort.dir;
  return String(x ?? "").localeCompare(String(y ?? "")) * sort.dir;
}

function pidNum(p) {
  const m = /<(\d+)\.(\d+)>/.exec(p || "");
  return m ? Number(m[1]) * 1e6 + Number(m[2]) : 0;
}

function renderActors(ps) {
  lastActors = ps.actors || [];
  const keys = [];
  for (const a of lastActors) for (const k of Object.keys(a)) if (!keys.includes(k)) keys.push(k);
  const head = $("#actors thead tr");
  head.replaceChildren(...keys.map((k) => {
    const th = el("th", { "data-key": k, class: k === sort.key ? (sort.dir > 0 ? "asc" : "desc") : "" }, k);
    th.onclick = () => { sort.dir = sort.key === k ? -sort.dir : 1; sort.key = k; renderActors(ps); };
    return th;
  }));
  const rows = [...lastActors].sort(compare).map((a) =>
    el("tr", { "data-pid": a.pid, "data-module": a.module, "data-vsn": a.vsn },
       ...keys.map((k) => el("td", { class: typeof a[k] === "number" ? "num" : "" }, a[k] ?? ""))));
  fillBody($("#actors"), rows);
  $("#actor-count").textContent = `${ps.total} live${ps.total > lastActors.length ? ", first " + lastActors.length + " shown" : ""}`;
}

async function poll() {
  try {
    const [s, t, r, c, ps, a] = await Promise.all([get("/api/status"), get("/api/tree"), get("/api/releases"),
                                                   get("/api/changes"), get("/api/ps"), get("/api/alarms")]);
    renderSummary(s);
    renderModules(s);
    renderTree(t, s);
    renderReleases(r);
    renderChanges(c);
    renderAlarms(a);
    renderActors(ps);
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    $("#updated").className = "muted";
    document.body.dataset.ready = "1";
  } catch (e) {
    $("#updated").textContent = "not updated: " + e.message;
    $("#updated").className = "error";
  }
  setTimeout(poll, POLL_MS);
}

poll();
