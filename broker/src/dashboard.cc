#include "dashboard.h"

namespace weituo::broker {

namespace {

// The page reads only its own origin's JSON API and loads nothing else, so
// it works offline. Every value from the API reaches the DOM through
// textContent (never innerHTML): court names, case numbers and debtor names
// are data, not markup.
constexpr std::string_view kDashboardHtml = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weituo 委托 · broker</title>
<style>
  :root { --fg:#1d2329; --dim:#6b7580; --line:#d9dee3; --bg:#ffffff; --panel:#f5f7f9;
          --ok:#16794c; --bad:#b42318; --warn:#a15c07; --sel:#e8f0fe; --link:#1a56b8; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
         "Noto Sans SC", "WenQuanYi Zen Hei", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
  header h1 { font-size: 18px; margin: 0 16px 0 0; display: inline-block; }
  #meta { display: inline; color: var(--dim); }
  #meta b { color: var(--fg); font-weight: 600; }
  #conn { float: right; font-size: 12px; }
  #conn.ok { color: var(--dim); }
  #conn.bad { color: var(--bad); font-weight: 600; }
  #totals { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; }
  .chip { border: 1px solid var(--line); border-radius: 12px; padding: 1px 9px; background: var(--bg);
          font-size: 12px; white-space: nowrap; }
  .chip.zero { color: var(--dim); }
  .chip b { font-variant-numeric: tabular-nums; }
  main { padding: 12px 20px 24px; display: grid; gap: 18px; grid-template-columns: minmax(0, 1fr);
         grid-template-areas: "courts" "commissions" "trail"; }
  @media (min-width: 1700px) {
    main { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
           grid-template-areas: "courts courts" "commissions trail"; }
  }
  #courts-panel { grid-area: courts; }
  #commissions-panel { grid-area: commissions; }
  #trail { grid-area: trail; }
  h2 { font-size: 15px; margin: 0 0 6px; }
  h2 small { font-weight: normal; color: var(--dim); margin-left: 6px; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  th { font-weight: 600; font-size: 12px; color: var(--dim); white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
  .nowrap { white-space: nowrap; }
  .dim { color: var(--dim); }
  .on { color: var(--ok); font-weight: 600; }
  .off { color: var(--bad); font-weight: 600; }
  .bad { color: var(--bad); font-weight: 600; }
  .warn { color: var(--warn); font-weight: 600; }
  .tag { font-size: 11px; border: 1px solid var(--line); border-radius: 3px; padding: 0 4px;
         margin-left: 4px; color: var(--dim); }
  .state { font-size: 12px; font-weight: 600; white-space: nowrap; }
  .s-SUBMITTED, .s-DELIVERED { color: #3558a8; }
  .s-ACCEPTED, .s-IN_PROGRESS { color: #6a3fa0; }
  .s-NEEDS_INFO { color: var(--warn); }
  .s-COMPLETED { color: var(--ok); }
  .s-RETURNED, .s-WITHDRAWN, .s-EXPIRED { color: var(--bad); }
  .s-FORWARDED { color: #0b6e75; }
  #commissions tbody tr { cursor: pointer; }
  #commissions tbody tr:hover { background: var(--panel); }
  #commissions tbody tr.selected { background: var(--sel); }
  a { color: var(--link); text-decoration: none; }
  a:hover { text-decoration: underline; }
  #filters { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 6px; font-size: 12px; }
  #filters select { font: inherit; }
  #trail { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
           padding: 10px 12px; align-self: start; min-height: 80px; }
  #trail .close { float: right; font: inherit; font-size: 12px; cursor: pointer; }
  #trail dl { display: grid; gap: 2px 12px; margin: 0 0 10px;
              grid-template-columns: repeat(2, max-content minmax(0, 1fr)); }
  @media (max-width: 700px) {
    #trail dl { grid-template-columns: max-content minmax(0, 1fr); }
  }
  #trail dt { color: var(--dim); }
  #trail dd { margin: 0; overflow-wrap: anywhere; }
  #trail table { background: var(--bg); }
  .empty { color: var(--dim); padding: 8px; }
</style>
</head>
<body>
<header>
  <span id="conn" class="ok">loading…</span>
  <h1>Weituo 委托 broker</h1>
  <p id="meta" role="status"></p>
  <div id="totals" aria-label="commissions by state"></div>
</header>
<main>
  <section id="courts-panel">
    <h2>Courts</h2>
    <div class="scroll">
      <table id="courts">
        <thead><tr>
          <th>Court</th><th>Connection</th><th class="num">Pending</th><th class="num">In flight</th>
          <th class="num">Overdue</th><th class="num">Parked</th><th>Oldest pending</th>
          <th>Deliveries</th><th class="num">Refused</th><th>Last seen</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section id="commissions-panel">
    <h2>Recent commissions <small>newest first; click one for its trail</small></h2>
    <div id="filters">
      <label>state <select id="f-state"><option value="">any</option></select></label>
      <label>court <select id="f-court"><option value="">any</option></select></label>
      <label>kind <select id="f-kind"><option value="">any</option></select></label>
    </div>
    <div class="scroll">
      <table id="commissions">
        <thead><tr>
          <th>Id</th><th>Case number</th><th>Origin → target</th><th>Kind</th><th>State</th>
          <th>Submitted</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section id="trail" aria-live="polite">
    <p class="empty">Click a commission to see its trail.</p>
  </section>
</main>
<script>
"use strict";
const REFRESH_MS = 2000;
const PAGE_LIMIT = 20;
// Enums arrive as names with protobuf's JSON mapping; numbers are mapped too.
const STATES = ["STATE_UNSPECIFIED", "SUBMITTED", "DELIVERED", "ACCEPTED", "IN_PROGRESS",
  "NEEDS_INFO", "COMPLETED", "RETURNED", "WITHDRAWN", "FORWARDED", "EXPIRED"];
const STATE_ZH = {SUBMITTED: "已提交", DELIVERED: "已送达", ACCEPTED: "已受理",
  IN_PROGRESS: "办理中", NEEDS_INFO: "待补正", COMPLETED: "已办结", RETURNED: "已退回",
  WITHDRAWN: "已撤回", FORWARDED: "已转委托", EXPIRED: "已逾期"};
const EVENT_TYPES = ["EVENT_TYPE_UNSPECIFIED", "EV_SUBMITTED", "EV_DELIVERED", "EV_ACCEPTED",
  "EV_PROGRESS", "EV_COMPLETED", "EV_RETURNED", "EV_WITHDRAWN", "EV_INFO_REQUESTED",
  "EV_INFO_SUPPLIED", "EV_FORWARDED", "EV_EXPIRED"];
const EVENT_NOTES = {SUBMITTED: "stored by the broker", DELIVERED: "recorded by the target's agent",
  FORWARDED: "sent on to the competent court", EXPIRED: "past the not-after date"};
const KINDS = [["debtorLocate", "DEBTOR_LOCATE", "locate 查人"],
  ["assetQuery", "ASSET_QUERY", "assets 财产查询"],
  ["vehicleSeizure", "VEHICLE_SEIZURE", "vehicle 扣押车辆"]];
const MEASURES = ["MEASURE_UNSPECIFIED", "SUMMONED", "DETAINED", "FINED", "PAID", "SETTLED"];
const ASSET_CLASSES = ["ASSET_CLASS_UNSPECIFIED", "DEPOSITS", "REAL_ESTATE", "VEHICLES",
  "SECURITIES", "OTHER_ASSETS"];
const RETURN_REASONS = ["RETURN_REASON_UNSPECIFIED", "NOT_IN_JURISDICTION",
  "MATERIAL_INCOMPLETE", "DUPLICATE", "OUTSIDE_COMMISSION_TYPES", "OTHER_REASON"];

const courtNames = new Map();  // court id -> name, from the last status
let openId = "";                // the commission whose trail is shown
let busy = false;               // a refresh is running
let again = false;              // another was asked for meanwhile

function $(id) { return document.getElementById(id); }
function enumName(v, names, dflt) {
  if (v === undefined || v === null || v === "") return dflt;
  return typeof v === "number" ? (names[v] || String(v)) : String(v);
}
function stateName(v) { return enumName(v, STATES, "STATE_UNSPECIFIED"); }
function eventName(v) { return enumName(v, EVENT_TYPES, "EVENT_TYPE_UNSPECIFIED").replace(/^EV_/, ""); }
function num(v) { return v === undefined || v === null || v === "" ? 0 : Number(v); }

// Builds an element: el("td", {class: "num"}, "3", childNode, ...). Strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function pad(n) { return String(n).padStart(2, "0"); }
function fmtTime(ms) {
  ms = num(ms);
  if (!ms) return "—";
  const d = new Date(ms);
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}
function fmtDuration(ms) {
  let s = Math.max(0, Math.floor(num(ms) / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return d + " d " + h + " h";
  if (h) return h + " h " + m + " min";
  if (m) return m + " min " + s + " s";
  return s + " s";
}
function fmtAgo(ms) {
  ms = num(ms);
  return ms ? fmtDuration(Date.now() - ms) + " ago" : "never";
}
function fmtYuan(fen) { return (num(fen) / 100).toFixed(2) + " 元"; }
function courtLabel(id) {
  if (!id) return "broker";
  const name = courtNames.get(id);
  return name ? id + " " + name : id;
}
function kindOf(c) {
  for (const [field, name, label] of KINDS) if (c && c[field]) return label;
  return "—";
}
function stateCell(v) {
  const s = stateName(v);
  return el("td", {}, el("span", {class: "state s-" + s, title: STATE_ZH[s] || ""}, s));
}

async function getJson(path) {
  const res = await fetch(path, {cache: "no-store"});
  if (!res.ok) {
    let why = "HTTP " + res.status;
    try {
      const message = (await res.json()).message;
      if (message) why += ": " + message;
    } catch (e) { /* not an ApiReply */ }
    const err = new Error(path + ": " + why);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

function renderStatus(s) {
  courtNames.clear();
  for (const c of s.courts || []) courtNames.set(c.courtId, c.name || "");

  $("meta").replaceChildren(
      el("b", {}, s.endpoint || "?"), " · security ",
      el("b", {class: s.security === "curve" ? "" : "warn"}, s.security || "?"),
      " · up ", el("b", {}, fmtDuration(s.uptimeMs)),
      s.version ? " · " + s.version : "",
      s.ready === false ? el("span", {class: "bad"}, " · not ready") : "");

  const byState = s.commissionsByState || {};
  let total = 0;
  const chips = [];
  for (const name of STATES.slice(1)) {
    const n = num(byState[name]);
    total += n;
    chips.push(el("span", {class: "chip" + (n ? "" : " zero"), "data-state": name,
                           title: STATE_ZH[name]}, name + " ", el("b", {}, n)));
  }
  for (const [name, v] of Object.entries(byState)) {  // names this page does not know yet
    if (STATES.includes(name)) continue;
    total += num(v);
    chips.push(el("span", {class: "chip", "data-state": name}, name + " ", el("b", {}, num(v))));
  }
  $("totals").replaceChildren(el("span", {class: "chip"}, "commissions ", el("b", {}, total)),
                              ...chips);

  const rows = (s.courts || []).map(c => {
    const pending = num(c.pending), overdue = num(c.overdue), parked = num(c.parked);
    return el("tr", {"data-court": c.courtId},
        el("td", {}, el("b", {}, c.courtId), " ", c.name || "",
           c.supervisor ? el("span", {class: "tag"}, "supervisor") : null),
        el("td", {class: c.online ? "on" : "off"}, c.online ? "online" : "offline"),
        el("td", {class: "num"}, pending),
        el("td", {class: "num"}, num(c.inFlight)),
        el("td", {class: "num" + (overdue ? " bad" : "")}, overdue),
        el("td", {class: "num" + (parked ? " warn" : "")}, parked),
        el("td", {class: "nowrap"}, num(c.oldestPendingMs) ? fmtDuration(c.oldestPendingMs) : "—"),
        el("td", {class: c.paused ? "warn" : "dim"}, c.paused ? "paused" : "flowing"),
        el("td", {class: "num"}, num(c.refused)),
        el("td", {class: "nowrap", title: fmtTime(c.lastSeenMs)}, fmtAgo(c.lastSeenMs)));
  });
  $("courts").tBodies[0].replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, el("td", {colspan: 10, class: "empty"}, "no courts"))]));

  const courtSelect = $("f-court");
  if (courtSelect.options.length === 1) {
    for (const c of s.courts || []) {
      courtSelect.append(el("option", {value: c.courtId}, c.courtId + " " + (c.name || "")));
    }
  }
}

function commissionsQuery() {
  const q = new URLSearchParams({limit: PAGE_LIMIT, order: "desc"});
  for (const f of ["state", "court", "kind"]) {
    const v = $("f-" + f).value;
    if (v) q.set(f, v);
  }
  return "/api/commissions?" + q.toString();
}

function renderCommissions(page) {
  const rows = (page.commissions || []).map(r => {
    const c = r.commission || {};
    const row = el("tr", {"data-commission": c.id, class: c.id === openId ? "selected" : null},
        el("td", {class: "mono"}, el("a", {href: "#" + encodeURIComponent(c.id || "")}, c.id || "?")),
        el("td", {class: "nowrap"}, c.caseNumber || ""),
        el("td", {class: "nowrap", title: courtLabel(c.originCourt) + " → " + courtLabel(c.targetCourt)},
           (c.originCourt || "?") + " → " + (c.targetCourt || "?")),
        el("td", {class: "nowrap"}, kindOf(c)),
        stateCell(r.state),
        el("td", {class: "nowrap"}, fmtTime(r.submittedAtMs)));
    row.addEventListener("click", ev => {
      if (ev.target.closest("a")) return;  // the link sets the hash itself
      location.hash = encodeURIComponent(c.id || "");
    });
    return row;
  });
  $("commissions").tBodies[0].replaceChildren(...(rows.length ? rows :
      [el("tr", {}, el("td", {colspan: 6, class: "empty"}, "no commissions"))]));
}

function renderResult(r) {
  if (!r) return "";
  if (r.locate) {
    const l = r.locate, parts = [];
    if (l.foundAtPlace) parts.push("found at " + l.foundAtPlace);
    const m = (l.measures || []).map(x => enumName(x, MEASURES, ""));
    if (m.length) parts.push("measures " + m.join(", "));
    if (num(l.amountPaidFen)) parts.push("paid " + fmtYuan(l.amountPaidFen));
    if (l.notes) parts.push(l.notes);
    return "located: " + (parts.join("; ") || "—");
  }
  if (r.assets) {
    const a = r.assets.assets || [];
    return a.length + " asset(s): " + a.map(x =>
        enumName(x.assetClass, ASSET_CLASSES, "?") + " " + (x.description || "") +
        (num(x.valueFen) ? " " + fmtYuan(x.valueFen) : "") + (x.frozen ? " frozen" : "")).join("; ");
  }
  if (r.seizure) {
    const z = r.seizure;
    return "seized: held at " + (z.heldAt || "?") + (z.heldBy ? " by " + z.heldBy : "") +
        (z.notes ? "; " + z.notes : "");
  }
  return "";
}

function renderUpdate(u, type) {
  if (!u) return EVENT_NOTES[type] || "";
  if (u.accept) return "handler " + (u.accept.handler || "?") +
      (u.accept.expectedDate ? ", expected " + u.accept.expectedDate : "");
  if (u.progress) return (u.progress.text || "") +
      (u.progress.partial ? " (partial: " + renderResult(u.progress.partial) + ")" : "");
  if (u.complete) return renderResult(u.complete.result) || "completed";
  if (u.return) return enumName(u.return.reason, RETURN_REASONS, "no reason") +
      (u.return.text ? ": " + u.return.text : "");
  if (u.withdraw) return u.withdraw.reason || "withdrawn";
  if (u.requestInfo) return u.requestInfo.text || "";
  if (u.supplyInfo) return (u.supplyInfo.text || "") +
      ((u.supplyInfo.attachments || []).length ?
           " (+" + u.supplyInfo.attachments.length + " attachment(s))" : "");
  return EVENT_NOTES[type] || "";
}

function clipped(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function renderTrail(t) {
  const r = t.record || {}, c = r.commission || {}, d = c.debtor || {};
  const events = (t.events || []).map(e => {
    const type = eventName(e.type);
    const detail = renderUpdate(e.update, type);
    return el("tr", {"data-seq": num(e.seq), "data-type": type},
        el("td", {class: "num"}, num(e.seq)),
        el("td", {class: "nowrap"}, fmtTime(e.atMs)),
        el("td", {class: "nowrap"}, type),
        el("td", {class: "nowrap", title: courtLabel(e.actorCourt)}, e.actorCourt || "broker"),
        stateCell(e.state),
        el("td", {title: detail}, clipped(detail, 160)));
  });
  const field = (name, ...value) => [el("dt", {}, name), el("dd", {}, ...value)];
  $("trail").replaceChildren(
      el("button", {class: "close", type: "button", id: "trail-close"}, "close ✕"),
      el("h2", {}, "Trail ", el("small", {class: "mono"}, c.id || openId)),
      el("dl", {},
         ...field("case", c.caseNumber || "—"),
         ...field("route", courtLabel(c.originCourt), " → ", courtLabel(c.targetCourt)),
         ...field("kind", kindOf(c)),
         ...field("state", el("span", {class: "state s-" + stateName(r.state)}, stateName(r.state))),
         ...field("debtor", (d.name || "—") + (d.regionCode ? " (" + d.regionCode + ")" : "")),
         ...field("submitted", fmtTime(r.submittedAtMs)),
         ...field("updated", fmtTime(r.updatedAtMs)),
         ...(c.notAfter ? field("not after", c.notAfter) : [])),
      el("div", {class: "scroll"}, el("table", {id: "trail-events"},
          el("thead", {}, el("tr", {},
              el("th", {class: "num"}, "Seq"), el("th", {}, "Time"), el("th", {}, "Event"),
              el("th", {}, "Who"), el("th", {}, "State"), el("th", {}, "Details"))),
          el("tbody", {}, ...(events.length ? events :
              [el("tr", {}, el("td", {colspan: 6, class: "empty"}, "no events"))])))));
  $("trail-close").addEventListener("click", () => { location.hash = ""; });
}

function trailMessage(text) {
  $("trail").replaceChildren(el("h2", {}, "Trail ", el("small", {class: "mono"}, openId)),
                             el("p", {class: "empty"}, text));
}

async function refreshTrail() {
  if (!openId) {
    $("trail").replaceChildren(el("p", {class: "empty"}, "Click a commission to see its trail."));
    return;
  }
  const id = openId;
  try {
    const t = await getJson("/api/commissions/" + encodeURIComponent(id));
    if (id === openId) renderTrail(t);
  } catch (e) {
    if (id !== openId) return;
    if (e.status === 404) trailMessage("No commission " + id + " on this broker.");
    else throw e;
  }
}

async function refresh() {
  if (busy) { again = true; return; }
  busy = true;
  try {
    const [status, page] = await Promise.all([getJson("/api/status"), getJson(commissionsQuery())]);
    renderStatus(status);
    renderCommissions(page);
    await refreshTrail();
    $("conn").className = "ok";
    $("conn").textContent = "updated " + fmtTime(Date.now()).slice(11);
  } catch (e) {
    $("conn").className = "bad";
    $("conn").textContent = "refresh failed: " + e.message;
  } finally {
    busy = false;
  }
  if (again) { again = false; refresh(); }
}

function openFromHash() {
  let id = location.hash.slice(1);
  try { id = decodeURIComponent(id); } catch (e) { /* keep it as typed */ }
  openId = id;
  for (const row of $("commissions").tBodies[0].rows) {
    row.classList.toggle("selected", !!openId && row.dataset.commission === openId);
  }
  if (openId) trailMessage("loading…");
  refreshTrail().catch(e => trailMessage("Could not load the trail: " + e.message));
}

function setUpFilters() {
  for (const s of STATES.slice(1)) $("f-state").append(el("option", {value: s}, s));
  for (const [, name, label] of KINDS) $("f-kind").append(el("option", {value: name}, label));
  for (const f of ["state", "court", "kind"]) $("f-" + f).addEventListener("change", refresh);
}

setUpFilters();
window.addEventListener("hashchange", openFromHash);
openFromHash();
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view DashboardHtml() { return kDashboardHtml; }

}  // namespace weituo::broker
