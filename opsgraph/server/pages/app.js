// The dashboard: pending approvals with approve/deny, open incidents with timelines, service health with SVG plots.
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const PLOTS = [["p95_ms", "p95 ms", "slo_p95_ms"], ["error_rate", "error rate", "error_rate_slo"], ["rps", "req/s", null]];

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// A small line plot of one series, a dashed limit line, and a marker where the incident began.
function plot(times, values, limit, markAt, label) {
  const w = 220, h = 56, pad = 3;
  const box = svg("svg", { width: w, height: h + 14, viewBox: `0 0 ${w} ${h + 14}`, class: "plot", role: "img",
                           "aria-label": label });
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return box;
  const hi = Math.max(...finite, limit ?? -Infinity), lo = Math.min(...finite, 0);
  const x = (i) => pad + (i / Math.max(1, values.length - 1)) * (w - 2 * pad);
  const y = (v) => h - pad - ((v - lo) / ((hi - lo) || 1)) * (h - 2 * pad);
  box.append(svg("polyline", { points: values.map((v, i) => `${x(i)},${y(v)}`).join(" "), class: "line" }));
  if (limit != null) box.append(svg("line", { x1: 0, x2: w, y1: y(limit), y2: y(limit), class: "limit" }));
  if (markAt) {
    const i = times.findIndex((t) => t >= markAt);
    if (i >= 0) box.append(svg("line", { x1: x(i), x2: x(i), y1: 0, y2: h, class: "mark" }));
  }
  const text = svg("text", { x: 2, y: h + 12, class: "label" });
  text.textContent = `${label}: ${finite[finite.length - 1].toPrecision(3)}`;
  box.append(text);
  return box;
}

async function decide(id, verb, button) {
  button.disabled = true;
  try {
    await api(`/api/approvals/${encodeURIComponent(id)}/${verb}`, { method: "POST", body: JSON.stringify({ reason: "via dashboard" }) });
    document.getElementById(`approval-${id}`).append(el("p", { class: "decided" }, `${verb === "approve" ? "approved" : "denied"} — the loop resumes the incident`));
    showError("");
  } catch (error) { showError(`${verb} ${id}: ${error.message}`); button.disabled = false; }
  refresh();
}

function approvalCard(a) {
  const action = a.action || {};
  return el("article", { class: "card approval", id: `approval-${a.id}`, "data-approval": a.id },
    el("h3", {}, `${action.name || a.action_id} on ${action.service || "?"}`),
    el("p", {}, a.summary),
    el("dl", {}, el("dt", {}, "params"), el("dd", {}, JSON.stringify(action.params || {})),
      el("dt", {}, "risk"), el("dd", {}, action.risk || "?"), el("dt", {}, "rule"), el("dd", {}, a.rule_id),
      el("dt", {}, "incident"), el("dd", {}, a.incident_id), el("dt", {}, "expires"), el("dd", {}, a.expires_at)),
    el("button", { class: "approve", "data-id": a.id, onclick: (e) => decide(a.id, "approve", e.target) }, "Approve"),
    el("button", { class: "deny", "data-id": a.id, onclick: (e) => decide(a.id, "deny", e.target) }, "Deny"));
}

const openTimelines = new Set();
async function toggleTimeline(id, card) {
  const old = card.querySelector(".timeline");
  if (old) { old.remove(); openTimelines.delete(id); return; }
  openTimelines.add(id);
  const detail = await api(`/api/incidents/${encodeURIComponent(id)}`);
  const list = el("ol", { class: "timeline" }, detail.timeline.map((t) => el("li", {}, el("b", {}, t.step), " ", t.text)));
  const series = detail.series || {};
  const plots = el("div", { class: "plots" }, PLOTS.filter(([k]) => series[k]).map(([k, label]) =>
    plot(series.times, series[k], null, detail.first_signal_at, label)));
  card.append(el("div", { class: "timeline" }, plots, list));
}

function incidentCard(i) {
  const card = el("article", { class: `card incident status-${i.status}`, id: `incident-${i.id}`, "data-incident": i.id },
    el("h3", {}, i.id), el("p", {}, el("span", { class: "status" }, i.status), ` · ${i.service} · ${i.severity}`),
    el("p", {}, i.summary || i.title));
  card.append(el("button", { class: "link", onclick: () => toggleTimeline(i.id, card) }, "timeline"));
  return card;
}

function serviceCard(s) {
  const m = (s.metrics && s.metrics.figures) || {};
  const series = s.series || {};
  const mark = s.incident ? s.incident.first_signal_at : null;
  return el("article", { class: `card service health-${s.health}`, "data-service": s.name },
    el("h3", {}, s.name), el("p", {}, el("span", { class: "status" }, s.health),
      s.incident ? ` · ${s.incident.id} (${s.incident.status})` : ""),
    el("div", { class: "plots" }, PLOTS.filter(([k]) => series[k]).map(([k, label, lim]) =>
      plot(series.times, series[k], lim ? m[lim] : null, mark, label))));
}

function fill(id, items, render, empty) {
  const box = document.getElementById(id);
  box.replaceChildren(...(items.length ? items.map(render) : [el("p", { class: "muted" }, empty)]));
}

async function refresh() {
  if (!token()) { showError("Paste an API token (opsgraph token create USER --role approver)."); return; }
  try {
    const [approvals, open, services, all] = await Promise.all([api("/api/approvals"), api("/api/incidents?status=open"),
      api("/api/services"), api("/api/incidents?limit=20")]);
    fill("approvals", approvals, approvalCard, "Nothing waits for approval.");
    fill("incidents", open, incidentCard, "No open incident.");
    fill("services", services, serviceCard, "No service reported yet (is `opsgraph run` running?).");
    fill("closed", all.filter((i) => ["resolved", "escalated"].includes(i.status)), incidentCard, "None yet.");
    for (const id of openTimelines) { const card = document.getElementById(`incident-${id}`); if (card) { openTimelines.delete(id); toggleTimeline(id, card); } }
    showError("");
  } catch (error) { showError(error.message); }
}

setupToken(refresh);
refresh();
setInterval(refresh, 2000);
