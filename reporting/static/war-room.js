// The war room (reporting/war_room.py): polls the figures, draws them with textContent and SVG.
const plan = JSON.parse(document.getElementById("plan").textContent);
const POLL_MS = 2000;
const KINDS = ["received", "verified", "published"];  // colours and widths: war-room.css
let data = null, etag = null, fetchedAt = 0;

function el(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function clockText(minute) {  // as reporting.night.clock_text: 390 -> "01:30 +1d"
  const total = 19 * 60 + Math.floor(minute), days = Math.floor(total / 1440), m = total % 1440;
  const text = String(Math.floor(m / 60)).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
  return days ? text + " +" + days + "d" : text;
}
function nowMinute() {
  if (!data || data.night.minute === null) return null;
  return data.night.minute + (Date.now() - fetchedAt) / 60000 * data.night.compress;
}
function standingText(s) {
  const band = "plan " + s.mean + " [" + s.low + ", " + s.high + "]";
  if (s.status === "behind")
    return band + ": behind by " + s.behind_precincts + " precincts, " + Math.round(s.behind_minutes) + " min";
  return band + ": " + s.status;
}
function drawChart(minute) {
  const svg = document.getElementById("chart");
  const W = 820, H = 300, L = 46, R = 10, T = 10, B = 28;
  const total = data.precincts_total;
  const xmax = Math.max(60, Math.ceil(((minute || 0) * 1.15) / 60) * 60);
  const x = (m) => L + (W - L - R) * Math.min(m, xmax) / xmax;
  const y = (n) => H - B - (H - T - B) * n / total;
  svg.replaceChildren();
  for (let i = 0; i <= 4; i++) {
    const n = Math.round(total * i / 4);
    svg.appendChild(el("line", {x1: L, x2: W - R, y1: y(n), y2: y(n), stroke: "#e3e6ea"}));
    svg.appendChild(el("text", {x: L - 4, y: y(n) + 4, "text-anchor": "end"}, n));
  }
  const step = xmax <= 240 ? 30 : xmax <= 720 ? 60 : 240;
  for (let m = 0; m <= xmax - step / 2; m += step)
    svg.appendChild(el("text", {x: x(m), y: H - 8, "text-anchor": "middle"}, clockText(m)));
  if (plan) {
    for (const kind of ["received", "published"]) {
      const c = plan[kind], upper = [], lower = [], mean = [];
      for (let i = 0; i < c.minutes.length && c.minutes[i] <= xmax; i++) {
        const next = i + 1 < c.minutes.length ? Math.min(c.minutes[i + 1], xmax) : xmax;
        upper.push(x(c.minutes[i]) + "," + y(c.high[i] * total), x(next) + "," + y(c.high[i] * total));
        lower.unshift(x(next) + "," + y(c.low[i] * total), x(c.minutes[i]) + "," + y(c.low[i] * total));
        mean.push(x(c.minutes[i]) + "," + y(c.mean[i] * total), x(next) + "," + y(c.mean[i] * total));
      }
      svg.appendChild(el("polygon", {points: upper.concat(lower).join(" "), class: "band " + kind}));
      svg.appendChild(el("polyline", {points: mean.join(" "), class: "mean " + kind}));
    }
  }
  for (const kind of KINDS) {
    const times = data.series[kind], points = [x(0) + "," + y(0)];
    times.forEach((t, i) => points.push(x(t) + "," + y(i), x(t) + "," + y(i + 1)));
    if (minute !== null) points.push(x(minute) + "," + y(times.length));
    svg.appendChild(el("polyline", {points: points.join(" "), class: "actual " + kind}));
    const legend = {x: L + 8, y: T + 14 + 14 * KINDS.indexOf(kind), class: "legend " + kind};
    svg.appendChild(el("text", legend, kind + (kind === "verified" ? "" : " (plan: band, dashed mean)")));
  }
  if (minute !== null)
    svg.appendChild(el("line", {x1: x(minute), x2: x(minute), y1: T, y2: H - B, stroke: "#888"}));
}
function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}
function render() {
  if (!data) return;
  const minute = nowMinute();
  document.getElementById("clock").textContent = minute === null
    ? "night not started" : "night minute " + Math.floor(minute) + " (" + clockText(minute) + ")";
  const r = data.release;
  document.getElementById("policy").textContent = r.mode === "continuous"
    ? "released continuously"
    : "released in batches" + (r.next_min === null ? "" : ", next at " + clockText(r.next_min));
  document.getElementById("plan-name").textContent = plan
    ? "plan: " + plan.name + (plan.nights ? " (" + plan.nights + " nights)" : "") : "no plan";
  for (const kind of KINDS)
    document.getElementById(kind).textContent = data[kind] + " of " + data.precincts_total;
  for (const kind of ["received", "published"]) {
    const node = document.getElementById(kind + "-plan");
    const s = data.plan ? data.plan.standings.find((s) => s.kind === kind) : null;
    node.textContent = s ? standingText(s) : (data.plan ? "the night has not started" : "no plan given");
    node.className = "plan " + (s ? (s.status === "behind" ? "behind" : s.status === "ahead" ? "ahead" : "on") : "");
  }
  const q = data.queue;
  document.getElementById("waiting").textContent = q.waiting;
  let oldest = "nothing waiting";
  if (q.oldest_since) {
    const age = (Date.parse(data.as_of) - Date.parse(q.oldest_since) + Date.now() - fetchedAt) / 1000;
    oldest = "oldest waiting " + (age < 120 ? Math.round(age) + " s" : Math.round(age / 60) + " min")
      + (q.oldest_night_minute === null ? "" : " (in at " + clockText(q.oldest_night_minute) + ")");
  }
  document.getElementById("oldest").textContent = oldest;
  document.getElementById("refused").replaceChildren(...data.refused.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.rule), cell(c.refused, "n"));
    return tr;
  }));
  document.getElementById("refused-total").textContent =
    data.refused_submissions + " submissions refused for breaking the rules";
  document.getElementById("missing-total").textContent =
    data.missing.reduce((n, c) => n + c.missing, 0) + " precincts";
  document.getElementById("missing").replaceChildren(...data.missing.slice(0, 12).map((c) => {
    const tr = document.createElement("tr");
    const who = c.precincts.slice(0, 4).map((p) =>
      p.precinct_id + " " + p.chair_name + " " + p.chair_phone + " (" + p.status + ")").join("; ");
    tr.append(cell(c.county), cell(c.missing, "n"), cell(who + (c.precincts.length > 4 ? "; ..." : "")));
    return tr;
  }));
  drawChart(minute);
  document.getElementById("updated").textContent =
    "Live: figures as of " + data.as_of + ", checked every " + POLL_MS / 1000 + " s.";
}
async function poll() {
  try {
    const response = await fetch("/war-room/progress.json", {
      cache: "no-store", credentials: "same-origin", headers: etag ? {"If-None-Match": etag} : {}});
    if (response.status === 401) { location.reload(); return; }
    if (response.status === 200) {
      data = await response.json();
      etag = response.headers.get("ETag");
      fetchedAt = Date.now();
    }
    render();
  } catch (error) {
    document.getElementById("updated").textContent = "Update failed; retrying.";
  }
}
document.getElementById("sign-out").addEventListener("click", async () => {
  await fetch("/war-room/sign-out", {method: "POST", credentials: "same-origin"});
  location.reload();
});
poll();
setInterval(poll, POLL_MS);
