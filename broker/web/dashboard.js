// The dashboard's script, inlined into dashboard.html by the build
// (broker/web/embed_dashboard.cmake).
//
// The page reads only its own origin's JSON API and loads nothing else, so
// it works offline. Every value from the API reaches the DOM through
// textContent or an attribute (never innerHTML): court names, case numbers
// and debtor names are data, not markup. The token its reads need, typed in
// or given as #token=... (a fragment reaches no server log; the page drops it
// from the address), is kept in sessionStorage, for this tab only, and sent
// as "Authorization: Bearer" with every API call.
"use strict";
const REFRESH_MS = 2000;
const STATS_REFRESH_MS = 10000;
const PAGE_LIMIT = 20;
const DAY_MS = 86400000;
const CHINA_OFFSET_MS = 8 * 3600000;  // the broker reads dates in China Standard Time
const TOKEN_KEY = "weituo.token";
// Enums arrive as names with protobuf's JSON mapping; numbers are mapped too.
const STATES = ["STATE_UNSPECIFIED", "SUBMITTED", "DELIVERED", "ACCEPTED", "IN_PROGRESS",
  "NEEDS_INFO", "COMPLETED", "RETURNED", "WITHDRAWN", "FORWARDED", "EXPIRED"];
const STATE_ZH = {SUBMITTED: "已提交", DELIVERED: "已送达", ACCEPTED: "已受理",
  IN_PROGRESS: "办理中", NEEDS_INFO: "待补正", COMPLETED: "已办结", RETURNED: "已退回",
  WITHDRAWN: "已撤回", FORWARDED: "已转委托", EXPIRED: "已逾期"};
const EVENT_TYPES = ["EVENT_TYPE_UNSPECIFIED", "EV_SUBMITTED", "EV_DELIVERED", "EV_ACCEPTED",
  "EV_PROGRESS", "EV_COMPLETED", "EV_RETURNED", "EV_WITHDRAWN", "EV_INFO_REQUESTED",
  "EV_INFO_SUPPLIED", "EV_FORWARDED", "EV_EXPIRED", "EV_DEADLINE_WARNING", "EV_DEADLINE_OVERDUE"];
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
const RETURN_LABELS = {NOT_IN_JURISDICTION: "not in its jurisdiction",
  MATERIAL_INCOMPLETE: "material incomplete", DUPLICATE: "duplicate",
  OUTSIDE_COMMISSION_TYPES: "outside the commission types", OTHER_REASON: "other reason"};
const STAGES = ["STAGE_UNSPECIFIED", "STAGE_ACKNOWLEDGE", "STAGE_START", "STAGE_PROGRESS",
  "STAGE_COMPLETE", "STAGE_LONG_STOP", "STAGE_SUPPLY_INFO"];
const STAGE_LABELS = {STAGE_ACKNOWLEDGE: "acknowledge 签收", STAGE_START: "start work",
  STAGE_PROGRESS: "progress report", STAGE_COMPLETE: "complete 办结",
  STAGE_LONG_STOP: "long stop (unfinished)", STAGE_SUPPLY_INFO: "supply material 补正"};
const CAMPAIGN_FIELDS = ["commissions", "completed", "debtorsLocated", "summoned",
  "detainedOrFined", "closedOrSettled"];

const courtNames = new Map();  // court id -> name, from the last status (or statistics)
let openId = "";                // the commission whose trail is shown
let busy = false;               // a refresh is running
let again = false;              // another was asked for meanwhile
let token = readToken();        // sent as Authorization: Bearer when not empty
let statusWithheld = null;      // the 403 that a witness's token gets for /api/status
let statsNextAt = 0;            // Date.now() when the statistics are read again
let rangeChosen = false;        // the user set the range; else it is the last 30 days
let showTrail = false;          // a trail was just opened: bring it into view once shown

function $(id) { return document.getElementById(id); }
function enumName(v, names, dflt) {
  if (v === undefined || v === null || v === "") return dflt;
  return typeof v === "number" ? (names[v] || String(v)) : String(v);
}
function stateName(v) { return enumName(v, STATES, "STATE_UNSPECIFIED"); }
function eventName(v) { return enumName(v, EVENT_TYPES, "EVENT_TYPE_UNSPECIFIED").replace(/^EV_/, ""); }
function stageLabel(v) {
  const name = enumName(v, STAGES, "STAGE_UNSPECIFIED");
  return STAGE_LABELS[name] || name.replace(/^STAGE_/, "").toLowerCase();
}
function reasonLabel(v) {
  const name = enumName(v, RETURN_REASONS, "RETURN_REASON_UNSPECIFIED");
  return RETURN_LABELS[name] || name;
}
function kindLabel(name) {
  for (const [, kind, label] of KINDS) if (kind === name) return label;
  return name;
}
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
// One table row saying why there is nothing else to show.
function emptyRow(colspan, text) {
  return el("tr", {}, el("td", {colspan: colspan, class: "empty"}, text));
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
function fmtYuan(fen) {
  return (num(fen) / 100).toLocaleString("en-US", {minimumFractionDigits: 2,
                                                   maximumFractionDigits: 2}) + " 元";
}
// YYYY-MM-DD of `ms` in China Standard Time, as the broker reads a date.
function chinaDate(ms) { return new Date(num(ms) + CHINA_OFFSET_MS).toISOString().slice(0, 10); }
function courtLabel(id) {
  if (!id) return "broker";
  const name = courtNames.get(id);
  return name ? id + " " + name : id;
}
function kindOf(c) {
  for (const [field, name, label] of KINDS) if (c && c[field]) return label;
  return "—";
}
function stateCell(v, ...extra) {
  const s = stateName(v);
  return el("td", {}, el("span", {class: "state s-" + s, title: STATE_ZH[s] || ""}, s), ...extra);
}
// A link that opens a commission's trail, as a click on its row does.
function commissionLink(id) {
  return el("a", {href: "#" + encodeURIComponent(id), class: "mono", "data-open": id}, id);
}
// "name n, name n" of a map of counts, largest first; `label` names a key.
function countsText(map, label) {
  return Object.entries(map || {}).filter(([, n]) => num(n) > 0)
      .sort((a, b) => num(b[1]) - num(a[1])).map(([k, n]) => label(k) + " " + num(n)).join(", ");
}

// ---- The API, with the token ---------------------------------------------------------------

function readToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
}
function useToken(value, now = true) {  // now: refresh at once
  token = (value || "").trim();
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (e) { /* storage off: kept in this page only */ }
  statusWithheld = null;
  statsNextAt = 0;
  if (now) refresh();
}

async function getJson(path) {
  const headers = token ? {Authorization: "Bearer " + token} : {};
  const res = await fetch(path, {cache: "no-store", headers: headers});
  if (!res.ok) {
    let why = "HTTP " + res.status;
    let message = "";
    try {
      message = (await res.json()).message || "";
      if (message) why += ": " + message;
    } catch (e) { /* not an ApiReply */ }
    const err = new Error(path + ": " + why);
    err.status = res.status;
    err.reason = message || why;
    throw err;
  }
  return res.json();
}

// What the token box says: kind "" hides it; "need" (401), "witness" (a witness's 403) or
// "ok" (a token in use) show it.
function showAuth(kind, message) {
  const box = $("auth");
  box.hidden = !kind;
  box.className = kind;
  $("auth-msg").textContent = message;
  $("auth-forget").hidden = !token;
}

// ---- Broker status and courts --------------------------------------------------------------

function fillCourtSelects(courts) {
  for (const id of ["f-court", "s-court"]) {
    const select = $(id);
    if (select.options.length > 1) continue;
    for (const c of courts) {
      select.append(el("option", {value: c.courtId}, c.courtId + " " + (c.name || "")));
    }
  }
}

function connectionCell(c) {
  const since = num(c.offlineFlaggedSinceMs);
  // Told to its supervisor: offline for longer than the broker's threshold.
  const flag = since ? el("span", {class: "tag bad", "data-flagged-since": since,
                                   title: "flagged to " + (c.superior || "its supervisor") +
                                       " as offline since " + fmtTime(since)},
                          "flagged since " + fmtTime(since).slice(5, 16)) : null;
  return el("td", {class: "nowrap " + (c.online ? "on" : "off")},
            c.online ? "online" : "offline", flag);
}

function liaisonCell(c) {
  const l = c.liaison || {};
  const who = [l.office, l.person].filter(Boolean).join(" · ");
  return el("td", {class: "nowrap", title: who || null, "data-liaison": l.phone || null},
            l.phone || (who ? who : "—"));
}

function renderStatus(s) {
  courtNames.clear();
  for (const c of s.courts || []) courtNames.set(c.courtId, c.name || "");

  $("meta").replaceChildren(
      el("b", {}, s.endpoint || "?"), " · security ",
      el("b", {class: s.security === "curve" ? "" : "warn"}, s.security || "?"),
      " · up ", el("b", {}, fmtDuration(s.uptimeMs)),
      s.version ? " · " + s.version : "",
      s.ready === false ? el("span", {class: "bad"}, " · not ready") : "",
      num(s.clockOffsetMs) ? el("span", {class: "warn"},
                                " · test clock ahead by " + fmtDuration(s.clockOffsetMs)) : "");

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
        el("td", {class: "nowrap", title: c.superior ? courtLabel(c.superior) : null},
           c.superior || "—"),
        liaisonCell(c),
        connectionCell(c),
        el("td", {class: "num"}, pending),
        el("td", {class: "num"}, num(c.inFlight)),
        el("td", {class: "num" + (overdue ? " bad" : "")}, overdue),
        el("td", {class: "num" + (parked ? " warn" : "")}, parked),
        el("td", {class: "nowrap"}, num(c.oldestPendingMs) ? fmtDuration(c.oldestPendingMs) : "—"),
        el("td", {class: c.paused ? "warn" : "dim"}, c.paused ? "paused" : "flowing"),
        el("td", {class: "num"}, num(c.refused)),
        el("td", {class: "nowrap", title: fmtTime(c.lastSeenMs)}, fmtAgo(c.lastSeenMs)));
  });
  $("courts").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(12, "no courts")]));
  fillCourtSelects(s.courts || []);
}

// The broker's status and the courts cannot be read with this token (or without one).
function withholdStatus(text) {
  $("meta").replaceChildren(el("span", {class: "dim"}, "broker status " + text));
  $("totals").replaceChildren();
  $("courts").tBodies[0].replaceChildren(el("tr", {"data-withheld": ""},
      el("td", {colspan: 12, class: "empty"}, "Courts: " + text + ".")));
}

// ---- Commissions and trails ----------------------------------------------------------------

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
    const overdue = (r.overdueNow || []).map(stageLabel);
    const classes = [c.id === openId ? "selected" : "", overdue.length ? "overdue" : ""];
    const row = el("tr", {"data-commission": c.id, class: classes.join(" ").trim() || null,
                          "data-overdue": overdue.length ? overdue.join(", ") : null},
        el("td", {class: "mono"}, el("a", {href: "#" + encodeURIComponent(c.id || "")}, c.id || "?")),
        el("td", {class: "nowrap"}, c.caseNumber || ""),
        el("td", {class: "nowrap", title: courtLabel(c.originCourt) + " → " + courtLabel(c.targetCourt)},
           (c.originCourt || "?") + " → " + (c.targetCourt || "?"),
           c.parentId ? el("span", {class: "tag", title: "forwarded from " + c.parentId},
                           "forwarded by " + (c.forwardedBy || "?")) : null),
        el("td", {class: "nowrap"}, kindOf(c)),
        stateCell(r.state, overdue.length ? el("span", {class: "tag bad",
            title: "overdue now: " + overdue.join(", ")}, "overdue") : null),
        el("td", {class: "nowrap"}, fmtTime(r.submittedAtMs)));
    row.addEventListener("click", ev => {
      if (ev.target.closest("a")) return;  // the link sets the hash itself
      location.hash = encodeURIComponent(c.id || "");
    });
    return row;
  });
  $("commissions").tBodies[0].replaceChildren(...(rows.length ? rows :
      [emptyRow(6, "no commissions")]));
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
  if (u.forward) return "to " + courtLabel(u.forward.toCourt) +
      (u.forward.text ? ": " + u.forward.text : "");
  return EVENT_NOTES[type] || "";
}

// A deadline event: which stage, warning or overdue, when it is due and who was told.
function renderDeadline(d) {
  const parts = [stageLabel(d.stage), d.overdue ? "overdue" : "warning"];
  if (num(d.round) > 1) parts.push("round " + num(d.round));
  parts.push("due " + fmtTime(d.dueAtMs));
  parts.push(d.supervisor ? "escalated to " + courtLabel(d.supervisor) : "no supervisor to tell");
  return parts.join(" · ");
}

function clipped(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function renderTrail(t) {
  const r = t.record || {}, c = r.commission || {}, d = c.debtor || {};
  const children = [];
  const events = (t.events || []).map(e => {
    const type = eventName(e.type);
    const deadline = e.deadline || null;
    const detail = deadline ? renderDeadline(deadline) : renderUpdate(e.update, type);
    const child = e.childCommissionId || "";
    if (child) children.push(child);
    return el("tr", {"data-seq": num(e.seq), "data-type": type,
                     class: deadline ? (deadline.overdue ? "ev-overdue" : "ev-warning") : null},
        el("td", {class: "num"}, num(e.seq)),
        el("td", {class: "nowrap"}, fmtTime(e.atMs)),
        el("td", {class: "nowrap" + (deadline ? (deadline.overdue ? " bad" : " warn") : "")}, type),
        el("td", {class: "nowrap", title: courtLabel(e.actorCourt)}, e.actorCourt || "broker"),
        stateCell(e.state),
        el("td", {title: detail}, clipped(detail, 160),
           child ? el("span", {class: "nowrap"}, " → child ", commissionLink(child)) : null));
  });
  const overdue = (r.overdueNow || []).map(stageLabel);
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
         ...(r.handler ? field("handler", r.handler) : []),
         ...(c.notAfter ? field("not after", c.notAfter) : []),
         ...(c.campaign ? field("campaign", c.campaign) : []),
         ...(overdue.length ? field("overdue now",
                                    el("span", {class: "bad", id: "trail-overdue"},
                                       overdue.join(", "))) : []),
         ...(c.parentId ? field("forwarded from", commissionLink(c.parentId),
                                c.forwardedBy ? " by " + courtLabel(c.forwardedBy) : "") : []),
         ...(children.length ? field("forwarded as", ...children.flatMap(
                                         (id, i) => i ? [", ", commissionLink(id)]
                                                      : [commissionLink(id)])) : [])),
      el("div", {class: "scroll"}, el("table", {id: "trail-events"},
          el("thead", {}, el("tr", {},
              el("th", {class: "num"}, "Seq"), el("th", {}, "Time"), el("th", {}, "Event"),
              el("th", {}, "Who"), el("th", {}, "State"), el("th", {}, "Details"))),
          el("tbody", {}, ...(events.length ? events : [emptyRow(6, "no events")])))));
  $("trail-close").addEventListener("click", () => { location.hash = ""; });
  if (showTrail) {
    showTrail = false;
    const top = $("trail").getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 120) $("trail").scrollIntoView({block: "start"});
  }
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
    else if (e.status === 401) trailMessage("The trail needs a token.");
    else throw e;
  }
}

// ---- Supervision statistics ----------------------------------------------------------------

function setLast30Days() {
  const now = Date.now();
  $("s-to").value = chinaDate(now);
  $("s-from").value = chinaDate(now - 29 * DAY_MS);
}

// The statistics' address; throws with a message if the range is not one.
function statsQuery() {
  if (!rangeChosen) setLast30Days();  // follows the date while the page stays open
  const from = $("s-from").value, to = $("s-to").value, court = $("s-court").value;
  if (from && to && from > to) throw new Error("the range is empty: 'from' is after 'to'");
  const q = new URLSearchParams();
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  if (court) q.set("court", court);
  return "/api/stats?" + q.toString();
}

function fmtDays(days, completed) {
  if (!num(completed)) return el("span", {class: "dim"}, "—");
  const d = num(days);
  return el("span", {title: fmtDuration(d * DAY_MS)}, d < 0.05 ? "< 0.1" : d.toFixed(1));
}

function statsRow(c, zone) {
  const count = (field, attrs) => {
    const n = num(c[field]);
    return el("td", Object.assign({class: "num", "data-field": field}, attrs || {}), n);
  };
  const overdue = num(c.overdueNow);
  return el("tr", {"data-stats-court": zone ? "zone" : c.courtId, class: zone ? "zone" : null},
      el("td", {class: "nowrap"}, zone ? "zone" : el("b", {}, c.courtId), " ",
         zone ? el("span", {class: "dim"}, "every commission once") : c.name || "",
         c.supervisor ? el("span", {class: "tag"}, "supervisor") : null),
      count("sent", {title: countsText(c.sentByKind, kindLabel) || null}),
      count("received", {title: countsText(c.receivedByKind, kindLabel) || null}),
      count("acknowledged"),
      count("acknowledgedOnTime"),
      count("completed"),
      count("returned", {title: countsText(c.returnedByReason, reasonLabel) || null}),
      count("withdrawn", {title: num(c.deemedWithdrawn) ?
          num(c.deemedWithdrawn) + " deemed withdrawn (material not supplied in time)" : null}),
      count("forwarded"),
      count("expired"),
      count("open"),
      count("overdueNow", {class: "num" + (overdue ? " bad" : ""),
                           title: countsText(c.overdueByStage, stageLabel) || null}),
      el("td", {class: "num", "data-field": "medianDays"},
         fmtDays(c.medianDaysToComplete, c.completed)),
      el("td", {class: "num", "data-field": "p90Days"}, fmtDays(c.p90DaysToComplete, c.completed)));
}

// A line of chips from a map of counts: "Returned by reason (zone): duplicate 2 · ...".
function summary(id, title, scope, map, label, key) {
  const entries = Object.entries(map || {}).filter(([, n]) => num(n) > 0)
      .sort((a, b) => num(b[1]) - num(a[1]));
  return el("div", {class: "summary", id: id}, el("b", {}, title),
      el("span", {class: "dim"}, "(" + scope + ")"),
      ...(entries.length ? entries.map(([k, n]) => el("span", {class: "chip", [key]: k},
                                                       label(k) + " ", el("b", {}, num(n))))
                         : [el("span", {class: "dim"}, "none")]));
}

function renderStats(s) {
  const courts = s.courts || [];
  for (const c of courts) if (!courtNames.has(c.courtId)) courtNames.set(c.courtId, c.name || "");
  if (!s.court) fillCourtSelects(courts);
  // A supervising court that neither sent nor received anything has nothing to show.
  const rows = courts.filter(c => !c.supervisor || num(c.sent) || num(c.received))
                     .map(c => statsRow(c, false));
  rows.push(statsRow(s.zone || {}, true));
  $("stats").tBodies[0].replaceChildren(...rows);

  const scoped = s.court ? courts.find(c => c.courtId === s.court) || {} : s.zone || {};
  const scope = s.court || "zone";
  $("s-summaries").replaceChildren(
      summary("s-returned", "Returned by reason", scope, scoped.returnedByReason, reasonLabel,
              "data-reason"),
      summary("s-overdue", "Overdue now by stage", scope, scoped.overdueByStage, stageLabel,
              "data-stage"));

  const campaigns = (s.campaigns || []).map(c => el("tr", {"data-campaign": c.campaign},
      el("td", {class: "nowrap"}, el("b", {}, c.campaign || "?")),
      ...CAMPAIGN_FIELDS.map(f => el("td", {class: "num", "data-field": f}, num(c[f]))),
      el("td", {class: "num nowrap", "data-field": "amountRecovered"},
         fmtYuan(c.amountRecoveredFen))));
  $("campaigns").tBodies[0].replaceChildren(...(campaigns.length ? campaigns :
      [emptyRow(8, "no commissions of a campaign in this range")]));

  const n = num(s.commissions);
  $("s-info").className = "dim";
  $("s-info").replaceChildren(
      n + " commission" + (n === 1 ? "" : "s") + " submitted from " + chinaDate(s.fromMs) +
          " to " + chinaDate(num(s.toMs) - 1) + " · computed " + fmtTime(s.computedAtMs),
      s.truncated ? el("span", {class: "bad"}, " · truncated: more were submitted in the range " +
                                                   "than the broker reads for one answer") : "");
}

function statsMessage(text, bad) {
  $("s-info").className = bad ? "bad" : "dim";
  $("s-info").textContent = text;
}

// Statistics cannot be read with this token (or without one).
function withholdStats(text) {
  statsMessage("Statistics: " + text + ".", true);
  $("stats").tBodies[0].replaceChildren(emptyRow(14, text));
  $("s-summaries").replaceChildren();
  $("campaigns").tBodies[0].replaceChildren(emptyRow(8, text));
}

// ---- The refresh ---------------------------------------------------------------------------

// The broker group's panel (docs/group.md), from /api/cluster on this member
// while it leads; hidden for a broker of its own (404).
function renderCluster(c) {
  $("group-panel").hidden = false;
  const inSync = c.inSync || [];
  const change = num(c.lastChangeAgoMs) < 0 ? "" :
      " · leadership changed " + fmtDuration(num(c.lastChangeAgoMs)) + " ago (" +
      (c.lastChangeReason || "?") + ")";
  $("group-meta").textContent = "group " + c.group + " · leader " + (c.leader || "none") +
      " · term " + c.term + " · in sync " + (inSync.join(", ") || "none") +
      (c.etcdReachable ? " · etcd answers" : " · ETCD DOES NOT ANSWER") + change;
  const rows = [el("tr", {},
      el("td", {}, c.member), el("td", {}, c.role), el("td", {class: "num"}, String(c.lastApplied)),
      el("td", {class: "num"}, "0"), el("td", {class: "num"}, "0"),
      el("td", {}, inSync.includes(c.member) ? "yes" : "no"), el("td", {}, "itself"))];
  for (const f of c.followers || []) {
    rows.push(el("tr", {class: f.inSync ? "" : "bad"},
        el("td", {}, f.member), el("td", {}, f.snapshotting ? "follower (fetching a checkpoint)" : "follower"),
        el("td", {class: "num"}, String(f.acked)), el("td", {class: "num"}, String(f.lagBatches)),
        el("td", {class: "num"}, String(f.lagMs)), el("td", {}, f.inSync ? "yes" : "NO"),
        el("td", {}, fmtAgo(f.lastHeardMs))));
  }
  $("group").tBodies[0].replaceChildren(...rows);
}

async function refreshCluster() {
  try {
    renderCluster(await getJson("/api/cluster"));
  } catch (e) {
    // A broker of its own (404), or a token that may not read it: no panel.
    if (e.status === 404 || e.status === 401 || e.status === 403) {
      $("group-panel").hidden = true;
      return;
    }
    throw e;
  }
}

async function refresh() {
  if (busy) { again = true; return; }
  busy = true;
  const failures = [];
  let unauthorized = null;  // a 401: this broker wants a token, or a better one
  let forbidden = null;     // a 403 other than the witness's on /api/status
  const noted = e => {
    if (e.status === 401) unauthorized = unauthorized || e;
    else if (e.status === 403) forbidden = forbidden || e;
    else failures.push(e.message);
  };
  const withheld = e => e.status === 401 ? "needs a token" : "not available to this token";
  try {
    // The slow round: statistics, and the status a witness's token was refused.
    const slow = Date.now() >= statsNextAt;
    let statsPath = null;
    if (slow) {
      statsNextAt = Date.now() + STATS_REFRESH_MS;
      try { statsPath = statsQuery(); } catch (e) { statsMessage(e.message, true); }
    }
    const [status, page, stats] = await Promise.allSettled([
      statusWithheld && !slow ? null : getJson("/api/status"),
      getJson(commissionsQuery()),
      statsPath ? getJson(statsPath) : null]);

    if (status.status === "fulfilled") {
      if (status.value) {
        statusWithheld = null;
        renderStatus(status.value);
      }
    } else if (status.reason.status === 403) {
      // A witness: trails and statistics only. Asked again in the slow round only.
      statusWithheld = status.reason;
      withholdStatus("not available to a witness");
    } else {
      noted(status.reason);
      if (status.reason.status === 401) withholdStatus(withheld(status.reason));
    }

    if (page.status === "fulfilled") {
      renderCommissions(page.value);
    } else {
      noted(page.reason);
      const s = page.reason.status;
      if (s === 401 || s === 403) {
        $("commissions").tBodies[0].replaceChildren(emptyRow(6, withheld(page.reason)));
      }
    }

    if (stats.status === "fulfilled") {
      // The range may have changed meanwhile; the next refresh reads that one.
      if (stats.value && statsNextAt !== 0) renderStats(stats.value);
    } else {
      const s = stats.reason.status;
      if (s === 401 || s === 403) {
        noted(stats.reason);
        withholdStats(withheld(stats.reason));
      } else if (s === 400) {
        statsMessage(stats.reason.reason, true);  // the range, as the broker sees it
      } else {
        noted(stats.reason);
        statsMessage("Statistics could not be read: " + stats.reason.message, true);
      }
    }

    try {
      await refreshCluster();
    } catch (e) {
      noted(e);
    }

    try {
      await refreshTrail();
    } catch (e) {
      noted(e);
      trailMessage("Could not load the trail: " + e.message);
    }

    if (unauthorized) {
      showAuth("need", token ?
          "The token was not accepted (HTTP 401): check it and enter it again." :
          "This broker asks for a token to read its API (HTTP 401): enter its read.token " +
          "(in its data folder), the admin's or a witness's. It is kept for this tab only.");
    } else if (forbidden) {
      showAuth("need", "This token may not read everything here (HTTP 403): " +
                           forbidden.reason);
    } else if (statusWithheld) {
      showAuth("witness", "Witness token: trails and statistics only; courts and broker " +
                              "status are not available to a witness (" +
                              statusWithheld.reason + ").");
    } else {
      showAuth(token ? "ok" : "", "A token is in use for this tab.");
    }
    if (unauthorized) {
      $("conn").className = "bad";
      $("conn").textContent = "token needed";
    } else if (failures.length) {
      $("conn").className = "bad";
      $("conn").textContent = "refresh failed: " + failures.join("; ");
    } else {
      $("conn").className = "ok";
      $("conn").textContent = "updated " + fmtTime(Date.now()).slice(11);
    }
  } catch (e) {
    $("conn").className = "bad";
    $("conn").textContent = "refresh failed: " + e.message;
  } finally {
    busy = false;
  }
  if (again) { again = false; refresh(); }
}

// "#token=T" or "#token=T&ID": keeps T and takes it out of the address (and the history).
function takeTokenFromHash() {
  const m = /^#token=([^&]*)&?(.*)$/.exec(location.hash);
  if (!m) return false;
  history.replaceState(null, "", location.pathname + location.search + (m[2] ? "#" + m[2] : ""));
  try { useToken(decodeURIComponent(m[1]), false); } catch (e) { useToken(m[1], false); }
  return true;
}

// Opens the trail "#ID" names; whether the address gave a token too.
function openFromHash() {
  const tokenGiven = takeTokenFromHash();
  let id = location.hash.slice(1);
  try { id = decodeURIComponent(id); } catch (e) { /* keep it as typed */ }
  openId = id;
  showTrail = !!openId;
  for (const row of $("commissions").tBodies[0].rows) {
    row.classList.toggle("selected", !!openId && row.dataset.commission === openId);
  }
  if (openId) trailMessage("loading…");
  refreshTrail().catch(e => trailMessage("Could not load the trail: " + e.message));
  return tokenGiven;
}

function setUpControls() {
  for (const s of STATES.slice(1)) $("f-state").append(el("option", {value: s}, s));
  for (const [, name, label] of KINDS) $("f-kind").append(el("option", {value: name}, label));
  for (const f of ["state", "court", "kind"]) $("f-" + f).addEventListener("change", refresh);

  const statsNow = () => { statsNextAt = 0; refresh(); };
  for (const id of ["s-from", "s-to"]) {
    $(id).addEventListener("change", () => { rangeChosen = true; statsNow(); });
  }
  $("s-last30").addEventListener("click", () => { rangeChosen = false; statsNow(); });
  $("s-court").addEventListener("change", statsNow);
  setLast30Days();

  $("auth-form").addEventListener("submit", ev => {
    ev.preventDefault();
    useToken($("auth-token").value);
    $("auth-token").value = "";
  });
  $("auth-forget").addEventListener("click", () => useToken(""));
}

setUpControls();
window.addEventListener("hashchange", () => { if (openFromHash()) refresh(); });
openFromHash();
refresh();
setInterval(refresh, REFRESH_MS);
