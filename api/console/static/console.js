// BRAiN console: a client of the JSON API (same origin, session cookie + CSRF header).
// Pages are built with DOM calls and textContent only, so no value from the API is ever parsed as HTML.

const FINAL = new Set(["succeeded", "failed", "timed_out", "cancelled", "over_budget", "rejected", "expired"]);
const STATUSES = ["pending", "awaiting_approval", "deferred", "queued", "running", "succeeded", "failed",
  "timed_out", "cancelled", "over_budget", "rejected", "expired"];
const LARGE = 2000; // characters of JSON shown open; larger values start collapsed
let me = null;
let timer = null;
// Each route change starts a new view; a page that finishes loading after the user moved on must
// not draw over the page they went to, nor keep refreshing.
let epoch = 0;

// ---- helpers ---------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function can(permission) {
  return me !== null && me.permissions.includes(permission);
}

function toast(message, bad = false) {
  const p = h("p", { class: bad ? "bad" : null, text: message });
  document.getElementById("toast").append(p);
  setTimeout(() => p.remove(), 6000);
}

function when(iso) {
  if (!iso) return h("span", { class: "muted", text: "—" });
  const date = new Date(iso);
  return h("time", { datetime: iso, title: date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") },
    date.toLocaleString());
}

function age(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

function badge(status) {
  return h("span", { class: `status status-${status}`, text: status });
}

function json(value) {
  const text = JSON.stringify(value, null, 2) ?? "null";
  if (text.length <= LARGE) return h("pre", { class: "mono", text });
  return h("details", {}, h("summary", { text: `${text.length.toLocaleString()} characters (show)` }),
    h("pre", { class: "mono", text }));
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = me?.csrf ?? "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
  if (response.status === 401) {
    location.assign("/console/login");
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function show(view, ...nodes) {
  if (view !== epoch) return false;
  const present = nodes.flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false);
  document.getElementById("main").replaceChildren(...present);
  return true;
}

function failed(error) {
  show(epoch, h("h1", { text: "Something went wrong" }), h("p", { class: "error", role: "alert", text: error.message }));
}

function every(view, ms, fn) {
  if (view !== epoch) return;
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden && view === epoch) fn().catch(() => {}); }, ms);
}

// ---- missions ------------------------------------------------------------------------------------

const MISSION_FILTERS = ["status", "agent", "tag", "created_after", "created_before", "tenant"];

function missionQuery(filters, cursor, limit = 50) {
  const params = new URLSearchParams({ limit: String(limit) });
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  if (cursor) params.set("cursor", cursor);
  return `/api/missions?${params}`;
}

async function missionsPage(view, params) {
  const filters = Object.fromEntries(MISSION_FILTERS.map((key) => [key, params.get(key) || ""]));
  // Another tenant's missions (platform admins) are read only: the API cancels your own.
  const foreign = Boolean(filters.tenant) && filters.tenant !== me.tenant;
  const canCancel = can("cancel") && !foreign;
  const info = await api("GET", "/api/missions/info");
  const body = h("tbody");
  const selected = new Set();
  let cursor = null;
  const more = h("button", { class: "secondary", type: "button", id: "more", text: "Older missions" });

  const row = (m) => h("tr", { "data-id": m.id, "data-status": m.status },
    canCancel ? h("td", {}, h("input", {
      type: "checkbox", "aria-label": `select ${m.name}`, disabled: FINAL.has(m.status),
      onchange: (e) => (e.target.checked ? selected.add(m.id) : selected.delete(m.id)),
    })) : null,
    h("td", {}, h("a", { href: `#/missions/${m.id}${foreign ? `?tenant=${encodeURIComponent(m.tenant)}` : ""}`,
      class: "mono", text: m.id.slice(0, 8) })),
    h("td", { text: m.name }),
    h("td", { text: m.agent }),
    h("td", {}, badge(m.status)),
    h("td", { class: "hide-narrow" }, m.tenant),
    h("td", {}, when(m.created_at)));

  async function load(reset) {
    const page = await api("GET", missionQuery(filters, reset ? null : cursor));
    if (reset) body.replaceChildren();
    body.append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (reset && page.items.length === 0) body.append(h("tr", {}, h("td", { colspan: 7, text: "No missions match." })));
  }
  more.addEventListener("click", () => load(false).catch(failed));

  const statusSelect = h("select", { id: "f-status", name: "status" }, h("option", { value: "", text: "any" }),
    STATUSES.map((s) => h("option", { value: s, text: s, selected: s === filters.status })));
  const agentSelect = h("select", { id: "f-agent", name: "agent" }, h("option", { value: "", text: "any" }),
    info.agents.map((a) => h("option", { value: a, text: a, selected: a === filters.agent })));
  const tenantInput = me.all_tenants ? h("input", { id: "f-tenant", name: "tenant", maxlength: 64, value: filters.tenant,
    placeholder: me.tenant }) : null;
  const tagInput = h("input", { id: "f-tag", name: "tag", maxlength: 100, value: filters.tag });
  // datetime-local speaks the browser's zone; the API is given UTC.
  const localValue = (iso) => (iso ? new Date(new Date(iso).getTime() - new Date(iso).getTimezoneOffset() * 60000)
    .toISOString().slice(0, 16) : "");
  const after = h("input", { id: "f-after", name: "created_after", type: "datetime-local", value: localValue(filters.created_after) });
  const before = h("input", { id: "f-before", name: "created_before", type: "datetime-local", value: localValue(filters.created_before) });
  const filterForm = h("form", { class: "filters", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (statusSelect.value) next.set("status", statusSelect.value);
    if (agentSelect.value) next.set("agent", agentSelect.value);
    if (tagInput.value.trim()) next.set("tag", tagInput.value.trim());
    if (tenantInput?.value.trim()) next.set("tenant", tenantInput.value.trim());
    if (after.value) next.set("created_after", new Date(after.value).toISOString());
    if (before.value) next.set("created_before", new Date(before.value).toISOString());
    location.hash = `#/missions?${next}`;
  } },
  h("div", {}, h("label", { for: "f-status", text: "Status" }), statusSelect),
  h("div", {}, h("label", { for: "f-agent", text: "Agent" }), agentSelect),
  h("div", {}, h("label", { for: "f-tag", text: "Tag" }), tagInput),
  h("div", {}, h("label", { for: "f-after", text: "Created from" }), after),
  h("div", {}, h("label", { for: "f-before", text: "Created before" }), before),
  tenantInput ? h("div", {}, h("label", { for: "f-tenant", text: "Tenant" }), tenantInput) : null,
  h("button", { type: "submit", text: "Filter" }));

  const actions = canCancel ? h("div", { class: "actions" },
    h("button", { type: "button", class: "danger", id: "cancel-selected", text: "Cancel selected", onclick: async () => {
      if (selected.size === 0) return toast("Select missions first.");
      if (!confirm(`Cancel ${selected.size} mission(s)?`)) return;
      await cancelAll([...selected]);
      selected.clear();
      await load(true);
    } }),
    h("button", { type: "button", class: "danger", id: "cancel-filter", text: "Cancel all matching", onclick: async () => {
      const ids = await matching(filters);
      if (ids.length === 0) return toast("No cancellable mission matches this filter.");
      if (!confirm(`Cancel all ${ids.length} unfinished mission(s) matching this filter?`)) return;
      await cancelAll(ids);
      await load(true);
    } })) : null;

  await load(true); // the first page is drawn with its rows, never as an empty table
  show(view, h("h1", { text: "Missions" }), filterForm, actions,
    h("div", { class: "scroll" }, h("table", { id: "missions" },
      h("thead", {}, h("tr", {}, canCancel ? h("th", {}, h("span", { class: "skip", text: "Select" })) : null,
        ["Mission", "Name", "Agent", "Status"].map((t) => h("th", { text: t })),
        h("th", { class: "hide-narrow", text: "Tenant" }), h("th", { text: "Created" }))),
      body)),
    more);
  every(view, 3000, async () => { if (body.querySelector("tr") && !cursor) await load(true); });
}

async function matching(filters) {
  // Every unfinished mission the filter selects, paging by the API's keyset cursor.
  const ids = [];
  let cursor = null;
  do {
    const page = await api("GET", missionQuery(filters, cursor, 200));
    ids.push(...page.items.filter((m) => !FINAL.has(m.status)).map((m) => m.id));
    cursor = page.next_cursor;
  } while (cursor);
  return ids;
}

async function cancelAll(ids) {
  let done = 0;
  const refused = [];
  for (const id of ids) {
    try {
      await api("POST", `/api/missions/${id}/cancel`);
      done += 1;
    } catch (error) {
      refused.push(`${id.slice(0, 8)}: ${error.message}`);
    }
  }
  toast(`Cancelled ${done} of ${ids.length}.` + (refused.length ? ` Refused: ${refused.slice(0, 3).join("; ")}` : ""),
    refused.length > 0);
}

async function missionDetail(view, id, tenant = "", settling = 5) {
  const as = tenant ? `tenant=${encodeURIComponent(tenant)}` : "";
  const [m, events] = await Promise.all([
    api("GET", `/api/missions/${id}${as ? `?${as}` : ""}`),
    api("GET", `/api/events?mission_id=${id}&limit=500${as ? `&${as}` : ""}`),
  ]);
  const own = !tenant || tenant === me.tenant;
  const buttons = [];
  if (own && can("cancel") && !FINAL.has(m.status)) {
    buttons.push(h("button", { type: "button", class: "danger", id: "cancel", text: "Cancel mission", onclick: async () => {
      if (!confirm(`Cancel mission ${m.name}?`)) return;
      try { await api("POST", `/api/missions/${id}/cancel`); toast("Cancelled."); } catch (e) { toast(e.message, true); }
      await missionDetail(view, id, tenant);
    } }));
  }
  if (own && can("submit") && FINAL.has(m.status) && m.status !== "succeeded") {
    buttons.push(h("button", { type: "button", class: "secondary", id: "retry", text: "Submit again", onclick: async () => {
      const body = { name: m.name, agent: m.agent, payload: m.payload, priority: m.priority, tags: m.tags };
      if (m.timeout_s) body.timeout_s = m.timeout_s;
      try {
        const again = await api("POST", "/api/missions", body);
        location.hash = `#/missions/${again.id}`;
      } catch (e) { toast(e.message, true); }
    } }));
  }
  const started = events.items.filter((e) => e.type === "mission.started");
  const usage = (spent, limit, unit) => `${spent ?? 0}${unit}${limit !== undefined && limit !== null ? ` of ${limit}${unit}` : ""}`;
  const budget = m.budget ?? {};
  const facts = [["Status", badge(m.status)], ["Agent", m.agent], ["Tenant", m.tenant], ["Priority", m.priority],
    ["Risk tier", m.risk_tier], ["Attempts", m.attempts], ["Worker", started.length ? started[0].actor : "—"],
    ["Tokens", usage(m.usage?.tokens, budget.max_tokens, "")],
    ["Cost", usage(m.usage?.cost_usd, budget.max_cost_usd, " USD")],
    ["Timeout", m.timeout_s ? `${m.timeout_s} s` : "default"],
    ["Submitted by", m.submitted_by ?? "anonymous"], ["Created", when(m.created_at)], ["Started", when(m.started_at)],
    ["Finished", when(m.finished_at)], ["Tags", m.tags.join(", ") || "—"],
    ["Rails would have", m.would_have?.length ? m.would_have.join(", ") : "—"]];
  show(view, h("p", {}, h("a", { href: "#/missions", text: "← Missions" })),
    h("h1", {}, m.name, " ", badge(m.status)),
    h("div", { class: "actions" }, buttons),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", { text: "Facts" }),
        h("dl", { class: "facts", id: "facts" }, facts.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]))),
      h("section", {}, h("h2", { text: "Timeline" }),
        h("ol", { class: "timeline", id: "timeline" }, events.items.slice().reverse().map((e) => h("li", {},
          h("span", { class: "type", text: e.type }), " ", when(e.created_at),
          e.actor ? h("span", { class: "muted", text: ` by ${e.actor}` }) : null,
          Object.keys(e.data || {}).length ? json(e.data) : null))))),
    h("h2", { text: "Payload" }), json(m.payload),
    h("h2", { text: "Result" }), json(m.result),
    m.error ? [h("h2", { text: "Error" }), json(m.error)] : null,
    m.usage ? [h("h2", { text: "Usage" }), json(m.usage)] : null,
    m.decision ? [h("h2", { text: "Governor decision" }), json(m.decision)] : null);
  // The final audit event can land a moment after the status: look again a few times for it.
  const ended = events.items.some((e) => e.type === `mission.${m.status}`);
  if (!FINAL.has(m.status)) every(view, 2000, () => missionDetail(view, id, tenant));
  else if (!ended && settling > 0) every(view, 1000, () => missionDetail(view, id, tenant, settling - 1));
  else if (view === epoch) clearInterval(timer);
}

// ---- submit ------------------------------------------------------------------------------------

const SCALAR = new Set(["string", "number", "integer", "boolean"]);

function payloadFields(schema) {
  // One input per payload property (JSON text for lists and objects); none for a free-form payload.
  if (!schema) {
    const raw = h("textarea", { id: "s-payload", name: "payload", rows: 8, "aria-describedby": "s-payload-help s-payload-error" });
    raw.value = "{}";
    return { nodes: [formField("payload", "Payload (JSON)", raw, "The agent's input, as a JSON object.")],
      read: () => JSON.parse(raw.value || "{}") };
  }
  const required = new Set(schema.required || []);
  const inputs = Object.entries(schema.properties || {}).map(([key, prop]) => {
    const id = `payload.${key}`;
    const type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
    let input;
    if (type === "boolean") {
      input = h("input", { type: "checkbox", id: `s-${id}`, name: id, checked: prop.default === true });
    } else if (SCALAR.has(type)) {
      input = h("input", { id: `s-${id}`, name: id, required: required.has(key),
        inputmode: type === "string" ? null : "decimal", "aria-describedby": `s-${id}-error` });
      if (prop.default !== null && prop.default !== undefined) input.value = String(prop.default);
    } else {
      input = h("textarea", { id: `s-${id}`, name: id, rows: 3, "aria-describedby": `s-${id}-help s-${id}-error` });
    }
    const limits = [prop.minimum !== undefined ? `≥ ${prop.minimum}` : "", prop.maximum !== undefined ? `≤ ${prop.maximum}` : "",
      SCALAR.has(type) ? "" : "JSON"].filter(Boolean).join(", ");
    const label = `${key}${required.has(key) ? " (required)" : ""}`;
    return { key, type, input, node: formField(id, label, input, [type, limits].filter(Boolean).join(" · ")) };
  });
  const read = () => {
    const payload = {};
    for (const { key, type, input } of inputs) {
      if (type === "boolean") { payload[key] = input.checked; continue; }
      const text = input.value.trim();
      if (!text) continue;
      if (!SCALAR.has(type)) {
        try { payload[key] = JSON.parse(text); } catch (err) { throw new Error(`${key}: ${err.message}`); }
      }
      else if (type === "string") payload[key] = input.value;
      else payload[key] = Number.isFinite(Number(text)) ? Number(text) : text; // the API explains a bad number
    }
    return payload;
  };
  return { nodes: inputs.map((i) => i.node), read };
}

function formField(name, label, input, help) {
  return h("div", { class: "field" },
    h("label", { for: `s-${name}`, text: label }), input,
    help ? h("p", { class: "help", id: `s-${name}-help`, text: help }) : null,
    h("p", { class: "field-error", id: `s-${name}-error`, role: "alert" }));
}

function placeErrors(fields, prefix, formError) {
  // The API's 422 names each bad field (nested under "payload" for the agent's own fields).
  let placed = false;
  for (const [key, messages] of Object.entries(fields)) {
    const id = prefix ? `${prefix}.${key}` : key;
    const slot = document.getElementById(`s-${id}-error`);
    if (!Array.isArray(messages) && typeof messages === "object" && !slot) {
      placed = placeErrors(messages, id, formError) || placed;
      continue;
    }
    const text = Array.isArray(messages) ? messages.join(" ") : JSON.stringify(messages);
    if (slot) { slot.textContent = text; placed = true; } else formError.textContent += `${id}: ${text} `;
  }
  return placed;
}

async function submitPage(view, params) {
  if (!can("submit")) return show(view, h("h1", { text: "Submit" }), h("p", { text: "Your roles cannot submit missions." }));
  const info = await api("GET", "/api/missions/info");
  const chosen = params.get("agent") || info.agents[0];
  const name = h("input", { id: "s-name", name: "name", required: true, maxlength: 200, "aria-describedby": "s-name-error" });
  const agent = h("select", { id: "s-agent", name: "agent", "aria-describedby": "s-agent-error" },
    info.agents.map((a) => h("option", { value: a, text: a, selected: a === chosen })));
  const priority = h("select", { id: "s-priority", name: "priority", "aria-describedby": "s-priority-error" },
    ["LOW", "NORMAL", "HIGH", "CRITICAL"].map((p) => h("option", { value: p, text: p, selected: p === "NORMAL" })));
  const timeout = h("input", { id: "s-timeout_s", name: "timeout_s", inputmode: "numeric", "aria-describedby": "s-timeout_s-error" });
  const tags = h("input", { id: "s-tags", name: "tags", "aria-describedby": "s-tags-help s-tags-error" });
  const formError = h("p", { class: "error", id: "s-form-error", role: "alert" });
  const payloadBox = h("fieldset", { id: "s-payload-fields" });
  let payload = null;
  const choose = () => {
    payload = payloadFields(info.payload_schemas?.[agent.value]);
    payloadBox.replaceChildren(h("legend", { text: `Payload for ${agent.value}` }), ...payload.nodes);
  };
  agent.addEventListener("change", choose);
  choose();

  const form = h("form", { id: "submit-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
    formError.textContent = "";
    let parsed;
    try { parsed = payload.read(); } catch (err) {
      const slot = document.getElementById("s-payload-error") || formError;
      slot.textContent = `Not JSON: ${err.message}`;
      return;
    }
    const body = { name: name.value, agent: agent.value, payload: parsed, priority: priority.value };
    if (timeout.value.trim()) body.timeout_s = /^\d+$/.test(timeout.value.trim()) ? Number(timeout.value) : timeout.value;
    if (tags.value.trim()) body.tags = tags.value.split(",").map((t) => t.trim()).filter(Boolean);
    try {
      const mission = await api("POST", "/api/missions", body);
      location.hash = `#/missions/${mission.id}`;
    } catch (error) {
      const placed = placeErrors(error.body?.errors?.json ?? {}, "", formError);
      if (!placed && !formError.textContent) formError.textContent = error.message;
    }
  } },
  formField("name", "Name", name),
  formField("agent", "Agent", agent),
  payloadBox,
  formField("priority", "Priority", priority),
  formField("timeout_s", "Time limit (seconds)", timeout),
  formField("tags", "Tags", tags, "Comma separated."),
  formError,
  h("button", { type: "submit", text: "Submit mission" }));
  show(view, h("h1", { text: "Submit a mission" }), form);
}

// ---- approvals -----------------------------------------------------------------------------------

async function approvalsPage(view) {
  const page = await api("GET", "/api/approvals?status=pending&limit=200");
  const rows = page.items.map((a) => {
    const reason = h("input", { id: `reason-${a.id}`, name: "reason", "aria-label": "Reason", maxlength: 2000 });
    const decide = (verb) => async () => {
      if (verb === "reject" && !reason.value.trim()) return toast("A rejection needs a reason.", true);
      try {
        await api("POST", `/api/approvals/${a.id}/${verb}`, reason.value.trim() ? { reason: reason.value.trim() } : {});
        toast(verb === "approve" ? "Approved." : "Rejected.");
      } catch (e) { toast(e.message, true); }
      await approvalsPage(view);
    };
    return h("tr", { "data-id": a.id, "data-mission": a.mission_id },
      h("td", {}, h("a", { href: `#/missions/${a.mission_id}`, class: "mono", text: a.mission_id.slice(0, 8) })),
      h("td", { text: a.rule_id ?? "—" }),
      h("td", { text: a.requested_by ?? "anonymous" }),
      h("td", {}, age(a.created_at), " ago"),
      h("td", {}, when(a.expires_at)),
      can("approve") ? h("td", {}, h("div", { class: "actions" }, reason,
        h("button", { type: "button", class: "approve", text: "Approve", onclick: decide("approve") }),
        h("button", { type: "button", class: "danger reject", text: "Reject", onclick: decide("reject") }))) : null);
  });
  show(view, h("h1", { text: "Approvals" }),
    rows.length ? h("div", { class: "scroll" }, h("table", { id: "approvals" },
      h("thead", {}, h("tr", {}, ["Mission", "Rule", "Requested by", "Waiting", "Expires"].map((t) => h("th", { text: t })),
        can("approve") ? h("th", { text: "Decision" }) : null)),
      h("tbody", {}, rows))) : h("p", { text: "Nothing is waiting for approval." }));
  every(view, 5000, async () => {
    const now = await api("GET", "/api/approvals?status=pending&limit=200");
    const shown = [...document.querySelectorAll("#approvals tbody tr")].map((tr) => tr.dataset.id).join();
    if (now.items.map((a) => a.id).join() !== shown && !document.activeElement?.name) await approvalsPage(view);
  });
}

// ---- rails and system ----------------------------------------------------------------------------

function budgetTable(items) {
  if (!items.length) return h("p", { text: "No budget is set." });
  const amount = (a) => (a ? `${a.tokens ?? "∞"} tokens · ${a.cost_usd ?? "∞"} USD` : "unlimited");
  return h("div", { class: "scroll" }, h("table", { id: "budgets" },
    h("thead", {}, h("tr", {}, ["Scope", "Period", "Limit", "Spent", "Reserved", "Remaining"].map((t) => h("th", { text: t })))),
    h("tbody", {}, items.map((b) => h("tr", { "data-scope": b.scope, "data-period": b.period },
      h("td", { class: "mono", text: b.scope }), h("td", { text: `${b.period} ${b.period_id}` }),
      h("td", { text: amount(b.limit) }), h("td", { text: amount(b.spent) }), h("td", { text: amount(b.reserved) }),
      h("td", { text: amount(b.remaining) }))))));
}

async function railsPage(view) {
  const [reflexes, rollout, budgets] = await Promise.all([
    api("GET", "/api/neurorail/reflexes"), api("GET", "/api/neurorail/rollout"),
    api("GET", "/api/budgets").catch(() => null)]);
  const breakers = reflexes.items.map((b) => h("tr", { "data-name": b.name },
    h("td", { class: "mono", text: b.name }), h("td", {}, badge(b.state)), h("td", { text: b.failures_in_window }),
    h("td", {}, when(b.open_until)),
    can("admin") ? h("td", {}, b.state === "closed" ? "" : h("button", { type: "button", class: "reset", text: "Reset",
      onclick: async () => {
        try { await api("POST", `/api/neurorail/reflexes/${encodeURIComponent(b.name)}/reset`); toast(`${b.name} closed.`); }
        catch (e) { toast(e.message, true); }
        await railsPage(view);
      } })) : null));
  show(view, h("h1", { text: "Rails" }),
    h("h2", { text: "Rollout" }),
    h("dl", { class: "facts" }, Object.entries(rollout).map(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })])),
    h("h2", { text: "Circuit breakers" }),
    breakers.length ? h("div", { class: "scroll" }, h("table", { id: "breakers" },
      h("thead", {}, h("tr", {}, ["Breaker", "State", "Failures", "Open until"].map((t) => h("th", { text: t })),
        can("admin") ? h("th", { text: "Action" }) : null)), h("tbody", {}, breakers))) : h("p", { text: "No breaker has tripped." }),
    budgets ? [h("h2", { text: "Budgets" }), budgetTable(budgets.items)] : null);
  every(view, 5000, () => railsPage(view));
}

function facts(id, pairs) {
  return h("dl", { class: "facts", id }, pairs.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v ?? "—")]));
}

async function systemPage(view) {
  const info = await api("GET", "/api/missions/info");
  // The system view counts every tenant's missions: an admin's page only.
  const [health, errors] = can("admin") ? await Promise.all([
    api("GET", "/api/system/health"),
    api("GET", "/api/events?type=mission.failed&limit=10"),
  ]) : [null, null];
  const sections = [h("h1", { text: "System" }),
    facts("system", [["Version", info.version], ["Profile", info.profile], ["Workers online", String(info.workers_online)],
      ["Modules", info.modules.join(", ")]])];
  if (health) {
    sections.push(h("h2", {}, "Health ", badge(health.status)),
      facts("health", [
        ["Dependencies", Object.entries(health.dependencies).map(([name, d]) =>
          h("div", {}, `${name}: `, badge(d.status), d.latency_ms !== undefined ? ` ${d.latency_ms} ms` : ""))],
        ["Worker slots", `${health.workers.busy} busy of ${health.workers.slots} on ${health.workers.online} node(s)`],
        ["Oldest queued", `${health.oldest_queued_age_s} s`],
        ["Error rate (last hour)", `${(health.error_rate_last_hour * 100).toFixed(1)} %`],
        ["Availability (SLA window)", health.sla?.availability === null || health.sla?.availability === undefined
          ? (health.sla?.error ?? "—") : `${(health.sla.availability * 100).toFixed(3)} %`],
        ["Uptime of this API", `${Math.round(health.uptime_s)} s`],
      ]),
      h("h2", { text: "Queues" }),
      h("table", { id: "queues" }, h("thead", {}, h("tr", {}, h("th", { text: "Queue" }), h("th", { text: "Depth" }))),
        h("tbody", {}, Object.entries(health.queues).map(([q, d]) => h("tr", {}, h("td", { class: "mono", text: q }),
          h("td", { text: String(d.depth) }))))),
      h("h2", { text: "Missions in the last hour" }),
      facts("last-hour", Object.entries(health.missions_last_hour).map(([k, v]) => [k, String(v)])),
      h("h2", { text: "Recent errors" }),
      errors.items.length ? h("ul", { id: "errors" }, errors.items.map((e) => h("li", {}, when(e.created_at), " ",
        h("a", { href: `#/missions/${e.mission_id}`, class: "mono", text: e.mission_id?.slice(0, 8) ?? "" }), " ",
        h("span", { text: e.data?.error?.message ?? e.data?.message ?? JSON.stringify(e.data).slice(0, 200) }))))
        : h("p", { text: "No failed mission recently." }));
  } else {
    sections.push(h("h2", { text: "Queues" }),
      facts("queues", Object.entries(info.queues).map(([k, v]) => [k, String(v)])),
      h("p", { class: "muted", text: "Health, SLA and recent errors are shown to admins." }));
  }
  show(view, ...sections);
  every(view, 5000, () => systemPage(view));
}

// ---- pipelines -----------------------------------------------------------------------------------

const RUN_FINAL = new Set(["succeeded", "failed", "cancelled"]);
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value);
  }
  el.append(...children.flat(Infinity).filter(Boolean));
  return el;
}

async function pipelinesPage(view, params) {
  const filters = { pipeline: params.get("pipeline") || "", status: params.get("status") || "" };
  const query = new URLSearchParams({ limit: "100" });
  for (const [k, v] of Object.entries(filters)) if (v) query.set(k, v);
  const [runs, pipelines] = await Promise.all([api("GET", `/api/pipeline-runs?${query}`), api("GET", "/api/pipelines?limit=200")]);
  const pick = h("select", { id: "f-pipeline", name: "pipeline" }, h("option", { value: "", text: "any" }),
    pipelines.items.map((p) => h("option", { value: p.name, text: p.name, selected: p.name === filters.pipeline })));
  const status = h("select", { id: "f-run-status", name: "status" }, h("option", { value: "", text: "any" }),
    ["running", "succeeded", "failed", "cancelled"].map((s) => h("option", { value: s, text: s, selected: s === filters.status })));
  const form = h("form", { class: "filters", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (pick.value) next.set("pipeline", pick.value);
    if (status.value) next.set("status", status.value);
    location.hash = `#/pipelines?${next}`;
  } },
  h("div", {}, h("label", { for: "f-pipeline", text: "Pipeline" }), pick),
  h("div", {}, h("label", { for: "f-run-status", text: "Status" }), status),
  h("button", { type: "submit", text: "Filter" }));
  show(view, h("h1", { text: "Pipeline runs" }), form,
    runs.items.length ? h("div", { class: "scroll" }, h("table", { id: "runs" },
      h("thead", {}, h("tr", {}, ["Run", "Pipeline", "Version", "Status", "Started", "Duration"].map((t) => h("th", { text: t })))),
      h("tbody", {}, runs.items.map((r) => h("tr", { "data-id": r.id },
        h("td", {}, h("a", { href: `#/pipelines/runs/${r.id}`, class: "mono", text: r.id.slice(0, 8) })),
        h("td", { text: r.pipeline }), h("td", { text: `v${r.version}` }), h("td", {}, badge(r.status)),
        h("td", {}, when(r.created_at)), h("td", { text: r.duration_s === null ? "—" : `${r.duration_s.toFixed(1)} s` }))))))
      : h("p", { text: "No runs match." }));
  every(view, 5000, () => pipelinesPage(view, params));
}

function nodeStatus(rows) {
  // A fan-out node has one row per item besides its own: the node's own row speaks for it.
  const own = rows.find((r) => r.item_index === null) ?? rows[0];
  return own ? own.status : "pending";
}

function layers(nodes) {
  // Depth = the longest chain of dependencies above a node; nodes of one depth share a column.
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map();
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const deps = byId.get(id)?.dependencies ?? [];
    const d = deps.length ? 1 + Math.max(...deps.map((dep) => depthOf(dep, seen))) : 0;
    depth.set(id, d);
    return d;
  };
  nodes.forEach((n) => depthOf(n.id));
  const columns = [];
  for (const n of nodes) (columns[depth.get(n.id)] ??= []).push(n);
  return columns;
}

function drawDag(definition, rowsByNode, onPick) {
  const W = 170, H = 44, GX = 60, GY = 18;
  const columns = layers(definition.nodes);
  const pos = new Map();
  columns.forEach((col, x) => col.forEach((n, y) => pos.set(n.id, { x: x * (W + GX) + 10, y: y * (H + GY) + 10 })));
  const width = columns.length * (W + GX) + 20 - GX;
  const height = Math.max(...columns.map((c) => c.length)) * (H + GY) + 20 - GY;
  const edges = definition.nodes.flatMap((n) => n.dependencies.map((dep) => {
    const a = pos.get(dep), b = pos.get(n.id);
    if (!a || !b) return null;
    return svg("path", { class: "edge", d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}` });
  }));
  const boxes = definition.nodes.map((n) => {
    const rows = rowsByNode.get(n.id) ?? [];
    const status = nodeStatus(rows);
    const items = rows.filter((r) => r.item_index !== null);
    const label = items.length ? `${n.id} ×${items.length}` : n.id;
    const { x, y } = pos.get(n.id);
    return svg("g", { class: `dag-node node-${status}`, tabindex: "0", role: "button", "data-node": n.id,
      "aria-label": `${n.id}: ${status}`, onclick: () => onPick(n.id),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onPick(n.id); } } },
    svg("title", { text: `${n.id} (${n.type}): ${status}` }),
    svg("rect", { x, y, width: W, height: H, rx: 6 }),
    svg("text", { x: x + 10, y: y + 18, class: "dag-label", text: label.length > 22 ? `${label.slice(0, 21)}…` : label }),
    svg("text", { x: x + 10, y: y + 35, class: "dag-status", text: status }));
  });
  return svg("svg", { id: "dag", viewBox: `0 0 ${width} ${height}`, width, height, role: "group",
    "aria-label": "The run's nodes and their dependencies" }, svg("g", {}, edges), svg("g", {}, boxes));
}

async function runDetail(view, id, picked) {
  const run = await api("GET", `/api/pipeline-runs/${id}`);
  const definition = await api("GET", `/api/pipelines/${encodeURIComponent(run.pipeline)}/versions/${run.version}`);
  const rowsByNode = new Map();
  for (const row of run.nodes) (rowsByNode.get(row.node) ?? rowsByNode.set(row.node, []).get(row.node)).push(row);
  const panel = h("section", { id: "node-detail" });
  const pick = (nodeId) => {
    picked = nodeId;
    const rows = rowsByNode.get(nodeId) ?? [];
    const spec = definition.nodes.find((n) => n.id === nodeId);
    panel.replaceChildren(h("h2", { text: `Node ${nodeId}` }),
      facts("node-facts", [["Type", spec?.type], ["Runs", spec?.agent ?? spec?.transform ?? spec?.pipeline],
        ["Depends on", spec?.dependencies.join(", ") || "—"], ["On failure", spec?.on_failure]]),
      h("div", { class: "scroll" }, h("table", { id: "node-rows" },
        h("thead", {}, h("tr", {}, ["Item", "Status", "Mission", "Ready", "Started", "Finished", "Result"].map((t) => h("th", { text: t })))),
        h("tbody", {}, rows.map((r) => h("tr", {},
          h("td", { text: r.item_index === null ? "—" : String(r.item_index) }), h("td", {}, badge(r.status)),
          h("td", {}, r.mission_id ? h("a", { href: `#/missions/${r.mission_id}`, class: "mono", text: r.mission_id.slice(0, 8) })
            : r.child_run_id ? h("a", { href: `#/pipelines/runs/${r.child_run_id}`, text: "sub-run" }) : "—"),
          h("td", {}, when(r.ready_at)), h("td", {}, when(r.started_at)), h("td", {}, when(r.finished_at)),
          h("td", { class: "mono", text: r.error ? JSON.stringify(r.error).slice(0, 200) : (r.result_summary ?? "—") })))))));
  };
  const buttons = [];
  if (can("submit") && !RUN_FINAL.has(run.status)) {
    buttons.push(h("button", { type: "button", class: "danger", id: "cancel-run", text: "Cancel run", onclick: async () => {
      if (!confirm("Cancel this run and its queued and running node missions?")) return;
      try { await api("POST", `/api/pipeline-runs/${id}/cancel`); toast("Run cancelled."); } catch (e) { toast(e.message, true); }
      await runDetail(view, id, picked);
    } }));
  }
  if (can("submit") && run.status === "failed") {
    buttons.push(h("button", { type: "button", class: "secondary", id: "retry-run", text: "Retry failed nodes", onclick: async () => {
      try { await api("POST", `/api/pipeline-runs/${id}/retry`); toast("Retrying."); } catch (e) { toast(e.message, true); }
      await runDetail(view, id, picked);
    } }));
  }
  const shown = show(view, h("p", {}, h("a", { href: "#/pipelines", text: "← Pipeline runs" })),
    h("h1", {}, `${run.pipeline} v${run.version} `, badge(run.status)),
    h("div", { class: "actions" }, buttons),
    facts("run-facts", [["Started", when(run.created_at)], ["Finished", when(run.finished_at)],
      ["Duration", run.duration_s === null ? "—" : `${run.duration_s.toFixed(1)} s`], ["By", run.created_by ?? "anonymous"]]),
    h("h2", { text: "Graph" }), h("div", { class: "scroll dag" }, drawDag(definition, rowsByNode, pick)),
    panel,
    h("h2", { text: "Inputs" }), json(run.inputs),
    run.outputs ? [h("h2", { text: "Outputs" }), json(run.outputs)] : null,
    run.error ? [h("h2", { text: "Error" }), json(run.error)] : null);
  if (shown && picked) pick(picked);
  if (!RUN_FINAL.has(run.status)) every(view, 2000, () => runDetail(view, id, picked));
}

// ---- tenants (admin) ------------------------------------------------------------------------------

async function tenantsPage(view) {
  if (!can("admin")) return show(view, h("h1", { text: "Tenants" }), h("p", { text: "Tenants are for admins." }));
  const page = await api("GET", "/api/tenants?limit=200");
  const field = (name, label, input) => h("div", {}, h("label", { for: `t-${name}`, text: label }), input,
    h("p", { class: "field-error", id: `t-${name}-error`, role: "alert" }));
  const id = h("input", { id: "t-id", name: "id", required: true, maxlength: 64, "aria-describedby": "t-id-error" });
  const name = h("input", { id: "t-name", name: "name", required: true, maxlength: 200, "aria-describedby": "t-name-error" });
  const plan = h("select", { id: "t-plan", name: "plan" }, ["free", "standard", "enterprise"].map((p) =>
    h("option", { value: p, text: p, selected: p === "standard" })));
  const formError = h("p", { class: "error", id: "t-form-error", role: "alert" });
  const create = h("form", { class: "filters", id: "tenant-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    create.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
    formError.textContent = "";
    try {
      await api("POST", "/api/tenants", { id: id.value.trim(), name: name.value.trim(), plan: plan.value });
      toast(`Tenant ${id.value.trim()} created.`);
      await tenantsPage(view);
    } catch (error) {
      const fields = error.body?.errors?.json ?? {};
      for (const [key, messages] of Object.entries(fields)) {
        const slot = document.getElementById(`t-${key}-error`) ?? formError;
        slot.textContent += Array.isArray(messages) ? messages.join(" ") : JSON.stringify(messages);
      }
      if (!Object.keys(fields).length) formError.textContent = error.message;
    }
  } }, field("id", "Id", id), field("name", "Name", name), field("plan", "Plan", plan),
  h("button", { type: "submit", text: "Create tenant" }), formError);
  const rows = page.items.map((t) => {
    const reason = h("input", { name: "reason", "aria-label": `Reason to suspend ${t.id}`, maxlength: 2000 });
    const act = (verb, body) => async () => {
      try { await api("POST", `/api/tenants/${encodeURIComponent(t.id)}/${verb}`, body); toast(`${t.id}: ${verb}d.`); }
      catch (e) { toast(e.message, true); }
      await tenantsPage(view);
    };
    let action = null;
    if (t.id !== "default" && t.status === "active") {
      action = h("div", { class: "actions" }, reason, h("button", { type: "button", class: "danger", text: "Suspend",
        onclick: () => (reason.value.trim() ? act("suspend", { reason: reason.value.trim() })()
          : toast("Suspending needs a reason.", true)) }));
    } else if (t.status === "suspended") {
      action = h("button", { type: "button", text: "Resume", onclick: act("resume") });
    }
    return h("tr", { "data-id": t.id }, h("td", { class: "mono", text: t.id }), h("td", { text: t.name }),
      h("td", { text: t.plan }), h("td", {}, badge(t.status)), h("td", { text: t.suspended_reason ?? "" }),
      h("td", { text: String(t.weight) }), h("td", {}, action));
  });
  show(view, h("h1", { text: "Tenants" }), h("h2", { text: "New tenant" }), create,
    h("div", { class: "scroll" }, h("table", { id: "tenants" },
      h("thead", {}, h("tr", {}, ["Id", "Name", "Plan", "Status", "Reason", "Weight", "Action"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows))));
}

// ---- routing -------------------------------------------------------------------------------------

async function route(moveFocus = true) {
  clearInterval(timer);
  const view = ++epoch;
  const [path, query] = (location.hash.slice(1) || "/missions").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  document.querySelectorAll(".top nav a").forEach((a) =>
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${parts[0]}`));
  try {
    if (parts[0] === "missions" && parts[1]) await missionDetail(view, parts[1], params.get("tenant") || "");
    else if (parts[0] === "submit") await submitPage(view, params);
    else if (parts[0] === "approvals") await approvalsPage(view);
    else if (parts[0] === "rails") await railsPage(view);
    else if (parts[0] === "system") await systemPage(view);
    else if (parts[0] === "pipelines" && parts[1] === "runs" && parts[2]) await runDetail(view, parts[2], null);
    else if (parts[0] === "pipelines") await pipelinesPage(view, params);
    else if (parts[0] === "tenants") await tenantsPage(view);
    else await missionsPage(view, params);
  } catch (error) {
    if (view === epoch) failed(error);
  }
  // After a navigation the keyboard continues in the new page; a fresh load starts at the top.
  if (view === epoch && moveFocus) document.getElementById("main").focus({ preventScroll: true });
}

async function start() {
  me = await api("GET", "/console/session");
  document.getElementById("who").textContent = me.sub
    ? `${me.sub} · ${me.tenant} · ${me.roles.join(", ") || "no roles"}` : "anonymous (authentication is off)";
  if (me.sub) {
    document.getElementById("logout-form").hidden = false;
    document.getElementById("logout-csrf").value = me.csrf;
  } else {
    document.getElementById("who").append(" · ", h("a", { href: "/console/login", text: "Log in" }));
  }
  document.querySelectorAll("[data-needs]").forEach((el) => { el.hidden = !can(el.dataset.needs); });
  window.addEventListener("hashchange", () => route(true));
  await route(false);
}

start().catch(failed);
