// The wagate operator console: plain JavaScript, no build step, no dependencies.
// Everything it calls is the gateway's own native API through the console's session
// proxy (/console/api/core/..., /console/api/admin/...); the page never sees the key
// it logged in with. DOM is built with textContent only (never innerHTML with data),
// so nothing a contact writes can run as code here.
"use strict";

const BASE = location.pathname.replace(/\/+$/, "");
const state = { who: null, instances: new Map(), feed: null, view: null, qrFor: null };

function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ""));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function say(message, isError) {
  const s = document.getElementById("status");
  s.textContent = message;
  s.className = isError ? "status error" : "status";
}

async function call(method, path, body) {
  const opts = { method, headers: { "X-Wagate-Console": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(BASE + path, opts);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!resp.ok) {
    const message = (data && data.error && data.error.message) || resp.statusText;
    const err = new Error(message);
    err.status = resp.status;
    throw err;
  }
  return data;
}

const core = (method, path, body) => call(method, "/api/core" + path, body);
const admin = (method, path, body) => call(method, "/api/admin" + path, body);
const enc = encodeURIComponent;

// Runs fn, showing its failure. With a view: once that screen is gone (the operator
// moved on or logged out) its late failures are dropped, so an answer to the old
// session's request cannot log out the new one or paint an error on another screen.
function guard(fn, view) {
  return async (...args) => {
    try { await fn(...args); } catch (e) {
      if (view && view.left) return;
      if (e.status === 401) return showLogin();
      say(fmt(S.error, { message: e.message }), true);
    }
  };
}

// ---- session ---------------------------------------------------------------------

function showLogin(message) {
  leaveView();
  closeFeed();
  state.who = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const input = el("input", { id: "token", type: "password", autocomplete: "current-password", required: true });
  const form = el("form", { class: "card narrow", onsubmit: async (e) => {
      e.preventDefault();
      try {
        state.who = await call("POST", "/session", { token: input.value });
        input.value = "";
        startSession();
      } catch (err) {
        say(fmt(S.loginFailed, { message: err.message }), true);
      }
    } },
    el("h1", { text: S.loginTitle }),
    el("p", { text: S.loginHelp }),
    el("label", { for: "token", text: S.loginLabel }), input,
    el("button", { type: "submit", text: S.loginButton }));
  render(form);
  if (message) say(message, true);
  input.focus();
}

function startSession() {
  const who = state.who;
  say("");
  document.getElementById("who").textContent =
    who.kind === "admin" ? S.loggedInAdmin : fmt(S.loggedInOrg, { org: who.org_name || who.org });
  const logout = document.getElementById("logout");
  logout.textContent = S.logout;
  logout.hidden = false;
  const nav = document.getElementById("nav");
  const links = [el("a", { href: "#/instances", text: S.navInstances })];
  if (who.kind === "admin") {
    links.push(el("a", { href: "#/credentials", text: S.navCredentials }),
      el("a", { href: "#/plugins", text: S.navPlugins }),
      el("a", { href: "#/dead", text: S.navDeadLetters }));
  }
  nav.replaceChildren(...links);
  nav.hidden = false;
  openFeed();
  route();
}

// ---- live feed -------------------------------------------------------------------

function openFeed() {
  closeFeed();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + BASE + "/api/events");
  state.feed = ws;
  ws.onopen = () => document.body.classList.add("live");
  ws.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (_) { /* not ours */ } };
  ws.onclose = () => {
    document.body.classList.remove("live");
    if (state.feed === ws && state.who) setTimeout(() => state.who && openFeed(), 2000);
  };
}

function closeFeed() {
  const ws = state.feed;
  state.feed = null;
  if (ws) ws.close();
}

function onEvent(ev) {
  const p = ev.payload || {};
  const inst = state.instances.get(ev.instance_id);
  if (p.type === "connection_update" && inst) {
    inst.state = p.data;
    if (p.data === "open") state.qrFor = null;
  } else if (p.type === "instance_created") {
    state.instances.set(p.data.id, p.data);
  } else if (p.type === "instance_deleted") {
    state.instances.delete(ev.instance_id);
  } else if (p.type === "qr_updated" && state.qrFor === ev.instance_id) {
    showQr(p.data);
  }
  if (state.view && state.view.onEvent) state.view.onEvent(ev);
}

// ---- router ----------------------------------------------------------------------

function render(node) {
  const main = document.getElementById("main");
  main.replaceChildren(node);
}

// The screen being shown: route() makes a new one each time. Views are async; one that
// finishes after the operator moved on finds itself left and neither draws nor keeps
// timers, so a slow answer never paints over the screen that replaced it.
function leaveView() {
  const view = state.view;
  if (view) {
    view.left = true;
    for (const t of view.timers) clearInterval(t);
  }
  state.view = null;
}

// Draws a view's screen unless the operator has left it.
function show(view, node) {
  if (!view.left) render(node);
}

// Calls fn every ms while the view is shown.
function every(view, ms, fn) {
  if (!view.left) view.timers.push(setInterval(() => view.left || fn(), ms));
}

function route() {
  if (!state.who) return;
  // An error belongs to the screen it happened on; a success note may outlive it.
  if (document.getElementById("status").classList.contains("error")) say("");
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  leaveView();
  const view = { onEvent: null, timers: [], left: false };
  state.view = view;
  const go = {
    "": viewInstances, instances: viewInstances,
    i: (v) => (parts[2] === "chat" ? viewChat(v, parts[1], parts[3]) : viewInstance(v, parts[1])),
    credentials: viewCredentials, plugins: viewPlugins, dead: viewDeadLetters,
  }[parts[0]] || viewInstances;
  guard(go, view)(view);
}

// ---- instances -------------------------------------------------------------------

async function loadInstances() {
  const list = state.who.kind === "admin" ? await admin("GET", "/instances") : await core("GET", "/instances");
  state.instances = new Map(list.map((r) => { const i = r.instance || r; return [i.id, i]; }));
}

function stateBadge(s) {
  return el("span", { class: "badge " + s, text: S["state_" + s] || s });
}

async function viewInstances(view) {
  await loadInstances();
  const search = el("input", { id: "search", type: "search" });
  const tbody = el("tbody");
  const fill = () => {
    const q = search.value.trim().toLowerCase();
    const rows = [...state.instances.values()]
      .filter((i) => !q || i.name.toLowerCase().includes(q) || (i.owner_jid || "").includes(q))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((i) => el("tr", { "data-instance": i.name },
        el("td", {}, el("a", { href: "#/i/" + enc(i.name), text: i.name })),
        state.who.kind === "admin" ? el("td", { text: i.org }) : null,
        el("td", {}, stateBadge(i.state)),
        el("td", { text: (i.owner_jid || "").split("@")[0].split(":")[0] })));
    tbody.replaceChildren(...rows);
    if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 4, text: S.noInstances })));
  };
  search.addEventListener("input", fill);
  const name = el("input", { id: "new-name", required: true, pattern: "[A-Za-z0-9._-]{1,64}" });
  const create = state.who.kind === "org"
    ? el("form", { class: "inline", onsubmit: guard(async (e) => {
        e.preventDefault();
        const created = await core("POST", "/instances", { name: name.value });
        state.instances.set(created.instance.id, created.instance);
        location.hash = "#/i/" + enc(created.instance.name);
      }) }, el("label", { for: "new-name", text: S.createName }), name,
        el("button", { type: "submit", text: S.create }))
    : null;
  fill();
  view.onEvent = fill;
  show(view, el("section", { class: "card" },
    el("h1", { text: S.instancesTitle }),
    el("label", { for: "search", text: S.search }), search,
    el("table", {}, el("thead", {}, el("tr", {},
      el("th", { text: S.colName }),
      state.who.kind === "admin" ? el("th", { text: S.colOrg }) : null,
      el("th", { text: S.colState }), el("th", { text: S.colNumber }))), tbody),
    create));
}

function showQr(payload) {
  const box = document.getElementById("qr");
  if (!box) return;
  fetch(BASE + "/api/qr", {
    method: "POST", credentials: "same-origin",
    headers: { "X-Wagate-Console": "1", "Content-Type": "application/json" },
    body: JSON.stringify({ text: payload }),
  }).then((r) => r.text()).then((svg) => {
    const img = el("img", { alt: S.scanQr, src: "data:image/svg+xml;base64," + btoa(svg) });
    box.replaceChildren(img, el("p", { text: S.scanQr }));
  });
}

async function viewInstance(view, name) {
  if (state.who.kind === "admin") return viewAdminInstance(view, name);
  const inst = await core("GET", "/instances/" + enc(name));
  const live = await core("GET", "/instances/" + enc(name) + "/state");
  inst.state = live.state;
  state.instances.set(inst.id, inst);
  const header = el("div", { id: "inst-state" });
  const profile = profileBox(view, name);
  const drawState = () => {
    const i = state.instances.get(inst.id) || inst;
    header.replaceChildren(...[stateBadge(i.state),
      i.state === "open" && i.owner_jid ? el("span", { text: " " + fmt(S.connected, { jid: i.owner_jid }) }) : null].filter(Boolean));
    connect.hidden = i.state === "open";
    if (i.state === "open") { const q = document.getElementById("qr"); if (q) q.replaceChildren(); }
    profile.load(i.owner_jid);
  };
  const phone = el("input", { id: "phone", inputmode: "tel" });
  const connect = el("form", { class: "inline", onsubmit: guard(async (e) => {
      e.preventDefault();
      state.qrFor = inst.id;
      const info = await core("POST", "/instances/" + enc(name) + "/connect",
        phone.value.trim() ? { phone: phone.value.trim() } : {});
      const shown = state.instances.get(inst.id) || inst;
      shown.state = info.state;
      drawState();
      if (info.pair_code) document.getElementById("qr").replaceChildren(el("p", { class: "code", text: fmt(S.pairCode, { code: info.pair_code }) }));
      else if (info.qr) showQr(info.qr);
    }) }, el("label", { for: "phone", text: S.pairPhone }), phone, el("button", { type: "submit", text: S.connect }));
  const chats = el("ul", { class: "chats" });
  const loadChats = guard(async () => {
    const list = await core("GET", "/instances/" + enc(name) + "/chats");
    chats.replaceChildren(...list.map((c) => el("li", {},
      el("a", { href: "#/i/" + enc(name) + "/chat/" + enc(c.jid), text: c.name || c.jid }),
      c.archived ? el("span", { class: "tag", text: S.archive }) : null,
      c.pinned ? el("span", { class: "tag", text: S.pin }) : null)));
    if (!list.length) chats.append(el("li", { text: S.noChats }));
  }, view);
  view.onEvent = (ev) => {
    if (ev.instance_id !== inst.id) return;
    const t = ev.payload.type;
    if (t === "connection_update") guard(async () => { Object.assign(inst, await core("GET", "/instances/" + enc(name))); inst.state = ev.payload.data; state.instances.set(inst.id, inst); drawState(); }, view)();
    if (t === "message_upsert" || t === "chat_deleted" || t === "chat_updated") loadChats();
    // Deliveries follow events by a moment: look again shortly after each one.
    setTimeout(() => view.left || hooksPanel.refresh(), 700);
    if (t === "instance_deleted") { say(fmt(S.deleted, { name })); location.hash = "#/instances"; }
  };
  drawState();
  await loadChats();
  const hooksPanel = await webhooksPanel(view, name);
  // A retry or a dead letter happens without a new event: look every few seconds too.
  every(view, 5000, () => hooksPanel.refresh());
  show(view, el("section", { class: "card" },
    el("a", { href: "#/instances", text: S.back }),
    el("h1", { text: name }), header, profile,
    connect, el("div", { id: "qr", class: "qr" }),
    el("div", { class: "actions" },
      el("button", { type: "button", text: S.restartInstance, onclick: guard(async () => {
        await core("POST", "/instances/" + enc(name) + "/restart"); say(S.restarted); }) }),
      el("button", { type: "button", onclick: guard(async () => { await core("POST", "/instances/" + enc(name) + "/logout"); }) , text: S.logoutInstance }),
      el("button", { type: "button", class: "danger", onclick: () => confirmDelete(name, () => core("DELETE", "/instances/" + enc(name))), text: S.deleteInstance })),
    el("h2", { text: S.chatsTitle }), chats,
    hooksPanel, await integrationsPanel(view, name), await settingsPanel(view, name),
    await mediaDownloadPanel(view, name)));
}

async function viewAdminInstance(view, name) {
  const i = [...state.instances.values()].find((x) => x.name === name || x.id === name);
  if (!i) { await loadInstances(); }
  const inst = [...state.instances.values()].find((x) => x.name === name || x.id === name);
  if (!inst) throw new Error("instance not found");
  view.onEvent = (ev) => { if (ev.instance_id === inst.id && ev.payload.type === "instance_deleted") location.hash = "#/instances"; };
  show(view, el("section", { class: "card" },
    el("a", { href: "#/instances", text: S.back }),
    el("h1", { text: inst.name }), el("p", { text: inst.org }), stateBadge(inst.state),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "danger", text: S.deleteInstance,
        onclick: () => confirmDelete(inst.name, () => admin("DELETE", "/instances/" + enc(inst.id))) }))));
}

function confirmDelete(name, doDelete) {
  const typed = el("input", { id: "confirm-name", autocomplete: "off" });
  const dialog = el("dialog", { class: "card", "aria-labelledby": "confirm-title" },
    el("h2", { id: "confirm-title", text: S.deleteInstance }),
    el("p", { text: fmt(S.deleteConfirm, { name }) }),
    el("label", { for: "confirm-name", text: S.deleteTypeName }), typed,
    el("div", { class: "actions" },
      el("button", { type: "button", text: S.cancel, onclick: () => { dialog.close(); dialog.remove(); } }),
      el("button", { type: "button", class: "danger", id: "confirm-go", text: S.deleteGo, onclick: guard(async () => {
        if (typed.value !== name) { typed.focus(); return; }
        await doDelete();
        dialog.close(); dialog.remove();
        say(fmt(S.deleted, { name }));
        location.hash = "#/instances";
      }) })));
  document.body.append(dialog);
  dialog.showModal();
  typed.focus();
}

async function webhooksPanel(view, name) {
  const base = "/instances/" + enc(name) + "/webhooks";
  const list = el("div");
  const url = el("input", { id: "hook-url", type: "url", required: true });
  let hooks = [];
  const specs = (xs) => xs.map((x) => ({ id: x.id, url: x.url, events: x.events || [], headers: x.headers || [], enabled: x.enabled, secret: x.secret }));
  const save = async (next) => { hooks = await core("PUT", base, next); await draw(true); };
  const deliveries = async (h) => {
    const recent = await core("GET", base + "/" + enc(h.id) + "/deliveries");
    if (!recent.length) return el("p", { class: "meta", text: S.noDeliveries });
    return el("table", { class: "deliveries", "data-webhook": h.id },
      el("thead", {}, el("tr", {}, ...[S.colWhen, S.colEvent, S.colAttempt, S.colOutcome, S.colError].map((x) => el("th", { text: x })))),
      el("tbody", {}, ...recent.map((d) => el("tr", { "data-outcome": d.outcome },
        el("td", { text: new Date(d.at).toLocaleTimeString() }), el("td", { text: d.event_type }),
        el("td", { text: String(d.attempt) }), el("td", {}, el("span", { class: "badge " + d.outcome, text: S["outcome_" + d.outcome] || d.outcome })),
        el("td", { class: "wrap", text: d.error || "" })))));
  };
  // The webhook whose edit form is open. The panel redraws every few seconds
  // (deliveries change without a new event); while a form is open it does not, so
  // what the user is typing is neither wiped nor loses focus.
  let editing = null;
  // One webhook's URL and event filter edited in place; its headers and secret stay.
  const editHook = (h) => {
    const hookUrl = el("input", { id: "hook-url-" + h.id, type: "url", required: true, value: h.url });
    const events = el("input", { id: "hook-events-" + h.id, value: (h.events || []).join(", ") });
    return el("form", { class: "stack", "data-webhook-form": h.id, onsubmit: guard(async (e) => {
        e.preventDefault();
        const next = specs(hooks);
        const mine = next.find((x) => x.id === h.id);
        if (mine) {
          mine.url = hookUrl.value;
          mine.events = events.value.split(",").map((x) => x.trim()).filter(Boolean);
        }
        await save(next);
        say(S.webhookSaved);
      }, view) },
      el("label", { for: hookUrl.id, text: S.webhookUrl }), hookUrl,
      el("label", { for: events.id, text: S.webhookEvents }), events,
      el("div", { class: "actions" },
        el("button", { type: "submit", text: S.save }),
        el("button", { type: "button", text: S.cancel, onclick: () => draw(true).catch(() => {}) })));
  };
  const draw = async (userChange) => {
    const items = [];
    for (const [n, h] of hooks.entries()) {
      items.push(el("div", { class: "hook" },
        el("p", {}, el("strong", { class: "wrap", text: h.url }), " ",
          el("span", { class: "tag", text: h.enabled ? S.enabled : S.disabled }),
          h.events && h.events.length ? el("span", { class: "tag", text: h.events.join(", ") }) : null),
        el("div", { class: "actions" },
          el("button", { type: "button", text: S.edit, onclick: (e) => {
            const row = e.target.closest(".hook");
            editing = h.id;
            row.replaceChildren(editHook(h));
            row.querySelector("input").focus();
          } }),
          el("button", { type: "button", text: h.enabled ? S.disable : S.enable, onclick: guard(async () => {
            const next = specs(hooks); next[n].enabled = !h.enabled; await save(next); }) }),
          el("button", { type: "button", text: S.webhookTest, disabled: !h.enabled, onclick: guard(async () => {
            await core("POST", base + "/" + enc(h.id) + "/test");
            say(S.testQueued);
            setTimeout(() => view.left || draw().catch(() => {}), 1000); }) }),
          el("button", { type: "button", text: S.webhookRemove, onclick: guard(async () => {
            await save(specs(hooks.filter((_, k) => k !== n))); }) })),
        el("h3", { text: S.deliveriesTitle }), await deliveries(h)));
    }
    // Checked after the awaits above: an Edit clicked while this redraw was fetching
    // deliveries keeps its form too. A change the user makes (save) redraws anyway.
    if (editing && !userChange) return;
    editing = null;
    list.replaceChildren(...items);
    if (!hooks.length) list.append(el("p", { text: S.noWebhooks }));
  };
  hooks = await core("GET", base);
  await draw();
  const panel = el("section", {}, el("h2", { text: S.webhooksTitle }), list,
    el("form", { class: "inline", onsubmit: guard(async (e) => {
      e.preventDefault();
      await save(specs(hooks).concat([{ url: url.value, events: [] }]));
      url.value = "";
    }) }, el("label", { for: "hook-url", text: S.webhookUrl }), url, el("button", { type: "submit", text: S.webhookAdd })));
  panel.refresh = guard(() => draw(false), view);
  return panel;
}

// The instance's integrations (Chatwoot, ...): listed, added, edited and removed. The
// secret headers' values are write-only: an edit that leaves them empty keeps them.
async function integrationsPanel(view, name) {
  const base = "/instances/" + enc(name) + "/integrations";
  const box = el("section", {}, el("h2", { text: S.integrationsTitle }));
  const list = el("div");
  const form = (current) => {
    const n = current ? "edit" : "new";
    const sink = el("input", { id: "int-sink-" + n, required: true, list: "int-sinks", value: current ? current.sink : "", readonly: !!current });
    const url = el("input", { id: "int-url-" + n, type: "url", required: true, value: current ? current.url : "" });
    const settings = el("textarea", { id: "int-settings-" + n, rows: 4 });
    settings.value = current ? JSON.stringify(JSON.parse(current.settings || "{}"), null, 2) : "{}";
    const hname = el("input", { id: "int-hname-" + n, autocomplete: "off", value: current && current.secret_header_names[0] || "" });
    const hvalue = el("input", { id: "int-hvalue-" + n, type: "password", autocomplete: "off" });
    const enabled = el("input", { id: "int-enabled-" + n, type: "checkbox", checked: current ? current.enabled : true });
    return el("form", { class: "stack", "data-integration-form": n, onsubmit: guard(async (e) => {
        e.preventDefault();
        let parsed;
        try { parsed = JSON.parse(settings.value || "{}"); } catch (err) { return say(fmt(S.settingsNotJson, { message: err.message }), true); }
        const body = { url: url.value, settings: parsed, enabled: enabled.checked };
        if (hname.value.trim() && hvalue.value) body.secret_headers = { [hname.value.trim()]: hvalue.value };
        await core("PUT", base + "/" + enc(sink.value.trim()), body);
        say(S.integrationSaved);
        if (!current) {
          // The add form starts empty again, folded away.
          e.target.reset();
          settings.value = "{}";
          e.target.closest("details").open = false;
        }
        await draw();
      }, view) },
      el("label", { for: sink.id, text: S.integrationSink }), sink,
      el("label", { for: url.id, text: S.integrationUrl }), url,
      el("label", { for: settings.id, text: S.integrationSettings }), settings,
      el("label", { for: hname.id, text: S.secretHeaderName }), hname,
      el("label", { for: hvalue.id, text: current ? S.secretHeaderValueKeep : S.secretHeaderValue }), hvalue,
      el("label", { class: "check" }, enabled, " " + S.enabled),
      el("button", { type: "submit", text: current ? S.save : S.integrationAdd }));
  };
  const draw = async () => {
    const items = await core("GET", base);
    list.replaceChildren(...items.map((i) => {
      const row = el("div", { class: "hook", "data-integration": i.sink },
        el("p", {}, el("strong", { text: i.sink }), " ", el("span", { class: "wrap", text: i.url }), " ",
          el("span", { class: "tag", text: i.enabled ? S.enabled : S.disabled }),
          i.secret_header_names.length ? el("span", { class: "tag", text: fmt(S.secretHeaders, { names: i.secret_header_names.join(", ") }) }) : null),
        el("div", { class: "actions" },
          el("button", { type: "button", text: S.edit, onclick: () => { row.replaceChildren(form(i)); row.querySelector("input:not([readonly])").focus(); } }),
          el("button", { type: "button", text: S.integrationRemove, onclick: guard(async () => {
            if (!window.confirm(fmt(S.integrationRemoveConfirm, { sink: i.sink }))) return;
            await core("DELETE", base + "/" + enc(i.sink));
            say(fmt(S.integrationRemoved, { sink: i.sink }));
            await draw();
          }, view) })));
      return row;
    }));
    if (!items.length) list.append(el("p", { text: S.noIntegrations }));
  };
  await draw();
  const sinks = el("datalist", { id: "int-sinks" }, ...(state.who.sinks || []).map((x) => el("option", { value: x })));
  box.append(list, el("details", {}, el("summary", { text: S.integrationAdd }), form(null)), sinks);
  return box;
}

// The paired account's profile: name, about text, and its picture as a link (the
// picture lives on WhatsApp's CDN, and this page loads nothing from another origin).
// Empty until the instance is paired.
function profileBox(view, name) {
  const box = el("dl", { id: "profile", class: "profile" });
  let shownFor = null;
  box.load = guard(async (owner) => {
    if (!owner) { shownFor = null; box.replaceChildren(); return; }
    if (shownFor === owner) return;
    let p;
    try { p = await core("GET", "/instances/" + enc(name) + "/profile"); } catch (e) {
      if (e.status === 503) return; // not seen yet: the next state change asks again
      throw e;
    }
    if (view.left) return;
    shownFor = owner;
    box.replaceChildren(
      el("dt", { text: S.profileName }), el("dd", { text: p.name || S.profileNone }),
      el("dt", { text: S.profileAbout }), el("dd", { text: p.status || S.profileNone }),
      ...(p.picture_url ? [el("dt", { text: S.profilePicture }), el("dd", {},
        el("a", { href: p.picture_url, target: "_blank", rel: "noopener noreferrer", text: S.profilePictureOpen }))] : []));
  }, view);
  return box;
}

// The instance's behaviour switches (Evolution's instance settings).
const SETTING_FLAGS = ["reject_calls", "ignore_groups", "always_online", "read_messages", "read_status", "sync_full_history"];
async function settingsPanel(view, name) {
  const path = "/instances/" + enc(name) + "/settings";
  const current = await core("GET", path);
  const flags = SETTING_FLAGS.map((k) => el("input", { type: "checkbox", value: k, checked: !!current[k] }));
  const reply = el("input", { id: "set-call-reply", maxlength: "4096", value: current.call_reply || "" });
  return el("section", {}, el("h2", { text: S.settingsTitle }),
    el("form", { class: "stack", "data-settings": "", onsubmit: guard(async (e) => {
        e.preventDefault();
        const body = {};
        flags.forEach((f) => { body[f.value] = f.checked; });
        if (reply.value.trim()) body.call_reply = reply.value;
        await core("PUT", path, body);
        say(S.settingsSaved);
      }, view) },
      ...flags.map((f) => el("label", { class: "check" }, f, " " + S["setting_" + f.value])),
      el("label", { for: reply.id, text: S.settingCallReply }), reply,
      el("button", { type: "submit", text: S.save })));
}

// Which inbound media the instance downloads: the deployment's default, or its own
// choice (on or off, which kinds, up to a size).
const MEDIA_KINDS = ["image", "video", "audio", "voice", "document", "sticker", "video_note"];
async function mediaDownloadPanel(view, name) {
  const path = "/instances/" + enc(name) + "/media-download";
  const choice = await core("GET", path);
  const own = el("input", { id: "md-own", type: "checkbox", checked: !!choice });
  const enabled = el("input", { id: "md-enabled", type: "checkbox", checked: choice ? choice.enabled : true });
  const kinds = MEDIA_KINDS.map((k) => el("input", { type: "checkbox", value: k,
    checked: !!choice && choice.kinds.includes(k) }));
  const maxMb = el("input", { id: "md-max", type: "number", min: "0", step: "any", inputmode: "decimal",
    value: choice && choice.max_bytes ? String(choice.max_bytes / 1048576) : "" });
  const fields = el("fieldset", { disabled: !choice },
    el("legend", { text: S.mdChoice }),
    el("label", { class: "check" }, enabled, " " + S.mdEnabled),
    el("fieldset", {}, el("legend", { text: S.mdKinds }),
      ...kinds.map((c) => el("label", { class: "check" }, c, " " + c.value))),
    el("label", { for: maxMb.id, text: S.mdMax }), maxMb);
  own.addEventListener("change", () => { fields.disabled = !own.checked; });
  return el("section", {}, el("h2", { text: S.mdTitle }),
    el("form", { class: "stack", "data-media-download": "", onsubmit: guard(async (e) => {
        e.preventDefault();
        if (!own.checked) {
          await core("DELETE", path);
        } else {
          const body = { enabled: enabled.checked, kinds: kinds.filter((c) => c.checked).map((c) => c.value) };
          if (maxMb.value) body.max_bytes = Math.round(Number(maxMb.value) * 1048576);
          await core("PUT", path, body);
        }
        say(S.mdSaved);
      }, view) },
      el("label", { class: "check" }, own, " " + S.mdOwn), fields,
      el("button", { type: "submit", text: S.save })));
}

// ---- chat ------------------------------------------------------------------------

// Images the page may draw inline; anything else is offered as a download only. The
// type comes from the network: a blob is never given a type the browser could run
// (HTML, SVG, ...), so a contact's file cannot script this page.
const INLINE_IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

function mediaOf(base, m) {
  const info = m.media;
  const label = fmt(S.mediaLabel, { kind: S["kind_" + info.kind] || info.kind, size: (info.size / 1024).toFixed(1) });
  const box = el("span", { class: "media", "data-media": info.kind }, el("span", { class: "tag", text: label }));
  if (!info.stored) {
    box.append(el("span", { class: "tag", text: S.mediaPending }));
    return box;
  }
  const fetchBlob = async (type) => {
    const resp = await fetch(BASE + "/api/core" + base + "/messages/" + enc(m.id) + "/media",
      { headers: { "X-Wagate-Console": "1" }, credentials: "same-origin" });
    if (!resp.ok) throw new Error(resp.statusText);
    return new Blob([await resp.arrayBuffer()], { type });
  };
  const inline = INLINE_IMAGES.includes(info.mimetype);
  box.append(el("button", { type: "button", text: inline ? S.mediaShow : S.mediaDownload, onclick: guard(async (e) => {
    const blob = await fetchBlob(inline ? info.mimetype : "application/octet-stream");
    const url = URL.createObjectURL(blob);
    if (inline) {
      e.target.replaceWith(el("img", { class: "inline-media", src: url, alt: info.file_name || label }));
    } else {
      const a = el("a", { href: url, download: info.file_name || m.id });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    }
  }) }));
  return box;
}

function kindOfFile(type) {
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  return "document";
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(",")[1] || "");
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

async function viewChat(view, name, jid) {
  const base = "/instances/" + enc(name);
  const chat = await core("GET", base + "/chats/" + enc(jid));
  const list = el("ol", { class: "messages" });
  let cursor = null;
  const olderBtn = el("button", { type: "button", text: S.older });
  const row = (m) => el("li", { class: m.from_me ? "mine" : "", "data-id": m.id },
    el("span", { class: "meta", text: (m.from_me ? S.fromMe : m.sender.split("@")[0]) + " \u00b7 " + new Date(m.timestamp).toLocaleString() }),
    el("span", { class: "text", text: m.revoked ? S.revoked : (m.text || "") }),
    m.media && !m.revoked ? mediaOf(base, m) : null,
    m.revoked ? null : el("span", { class: "actions" },
      m.from_me ? el("button", { type: "button", text: S.revoke, onclick: guard(async () => { await core("DELETE", base + "/messages/" + enc(m.id) + "?for_everyone=true"); await reload(); }) }) : null,
      el("button", { type: "button", text: S.deleteForMe, onclick: guard(async () => { await core("DELETE", base + "/messages/" + enc(m.id)); await reload(); }) })));
  const page = async (from) => {
    const q = "?limit=50" + (from ? "&cursor=" + enc(from) : "");
    const p = await core("GET", base + "/chats/" + enc(jid) + "/messages" + q);
    cursor = p.next_cursor || null;
    olderBtn.hidden = !cursor;
    return p.messages.filter((m) => !m.deleted_for_me).map(row);
  };
  const reload = async () => { list.replaceChildren(...await page(null)); };
  olderBtn.addEventListener("click", guard(async () => { list.append(...await page(cursor)); }));
  await reload();
  const text = el("textarea", { id: "send-text", rows: 2 });
  const file = el("input", { id: "send-file", type: "file" });
  const flags = el("div", { class: "actions" },
    el("button", { type: "button", text: chat.archived ? S.unarchive : S.archive, onclick: guard(async () => { await core("PATCH", base + "/chats/" + enc(jid), { archived: !chat.archived }); route(); }) }),
    el("button", { type: "button", text: chat.pinned ? S.unpin : S.pin, onclick: guard(async () => { await core("PATCH", base + "/chats/" + enc(jid), { pinned: !chat.pinned }); route(); }) }),
    el("button", { type: "button", text: chat.muted_until ? S.unmute : S.mute, onclick: guard(async () => {
      await core("PATCH", base + "/chats/" + enc(jid), chat.muted_until ? { unmute: true } : { muted_until: Date.now() + 8 * 3600 * 1000 }); route(); }) }),
    el("button", { type: "button", class: "danger", text: S.deleteChat, onclick: guard(async () => {
      if (!window.confirm(fmt(S.deleteChatConfirm, { jid }))) return;
      await core("DELETE", base + "/chats/" + enc(jid) + "?media=true");
      location.hash = "#/i/" + enc(name);
    }) }));
  view.onEvent = (ev) => {
    const d = ev.payload.data;
    if (ev.payload.type.startsWith("message_") && d && d.chat_jid === jid) guard(reload, view)();
  };
  show(view, el("section", { class: "card" },
    el("a", { href: "#/i/" + enc(name), text: name }),
    el("h1", { text: fmt(S.messagesTitle, { jid: chat.name || jid }) }), flags,
    el("form", { class: "send", onsubmit: guard(async (e) => {
      e.preventDefault();
      const chosen = file.files && file.files[0];
      if (chosen) {
        await core("POST", base + "/messages/media", {
          to: jid, kind: kindOfFile(chosen.type), data: await base64Of(chosen),
          mimetype: chosen.type || undefined, file_name: chosen.name,
          caption: text.value.trim() || undefined,
        });
        file.value = "";
      } else if (text.value.trim()) {
        await core("POST", base + "/messages", { to: jid, text: text.value });
      } else {
        return;
      }
      text.value = "";
      say(S.sent);
      await reload();
    }) }, el("label", { for: "send-text", text: S.sendText }), text,
      el("label", { for: "send-file", text: S.sendFile }), file,
      el("button", { type: "submit", text: S.send })),
    list, olderBtn));
}

// ---- admin -----------------------------------------------------------------------

async function viewCredentials(view) {
  const orgs = await admin("GET", "/orgs");
  const orgList = el("ul", {}, ...orgs.map((o) => el("li", { text: o.name + " (" + o.id + ")" })));
  const orgName = el("input", { id: "org-name", required: true });
  const credOrg = el("select", { id: "cred-org" }, ...orgs.map((o) => el("option", { value: o.name, text: o.name })));
  const caps = ["read", "send", "manage", "admin"].map((c) => el("input", { type: "checkbox", id: "cap-" + c, value: c, checked: c !== "admin" }));
  const shown = el("p", { class: "secret", role: "alert" });
  show(view, el("section", { class: "card" },
    el("h1", { text: S.orgsTitle }), orgList,
    el("form", { class: "inline", onsubmit: guard(async (e) => {
      e.preventDefault();
      await admin("POST", "/orgs", { name: orgName.value });
      route();
    }) }, el("label", { for: "org-name", text: S.orgName }), orgName, el("button", { type: "submit", text: S.orgCreate })),
    el("h2", { text: S.credTitle }),
    el("form", { onsubmit: guard(async (e) => {
      e.preventDefault();
      const capabilities = caps.filter((c) => c.checked).map((c) => c.value);
      const made = await admin("POST", "/credentials", { org: credOrg.value, kind: "api-key", capabilities });
      shown.textContent = fmt(S.credShown, { token: made.token });
    }) }, el("label", { for: "cred-org", text: S.credOrg }), credOrg,
      el("fieldset", {}, el("legend", { text: S.credCaps }),
        ...caps.map((c) => el("label", { class: "check" }, c, " " + c.value))),
      el("button", { type: "submit", text: S.credCreate })), shown));
}

async function viewPlugins(view) {
  const data = await admin("GET", "/plugins");
  const table = (heads, rows) => el("table", {}, el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", { class: "wrap", text: c }))))));
  show(view, el("section", { class: "card" }, el("h1", { text: S.pluginsTitle }),
    el("button", { type: "button", text: S.reload, onclick: guard(async () => { await admin("POST", "/plugins/reload"); route(); say(S.reloaded); }) }),
    table([S.colName, S.colVersion, S.colWorlds, S.colCalls, S.colMeanCall, S.colFailures],
      data.plugins.map((p) => {
        const h = p.health || { calls: 0, mean_call_us: 0, failures: {} };
        const failed = Object.entries(h.failures).filter(([, n]) => n > 0).map(([k, n]) => k + " " + n);
        return [p.name, p.version, p.worlds.join(", "), String(h.calls),
          (h.mean_call_us / 1000).toFixed(2) + " ms", failed.length ? failed.join(", ") : S.none];
      })),
    el("h2", { text: S.mountsTitle }),
    table([S.colPrefix, S.colDialect, S.colAuth],
      data.mounts.map((m) => [m.prefix, m.dialect, (m.auth || []).join(", ")]))));
}

async function viewDeadLetters(view) {
  const dead = await admin("GET", "/events/dead-letters");
  const replay = (ids) => guard(async () => {
    const r = await admin("POST", "/events/dead-letters/replay", ids ? { ids } : {});
    route();
    say(fmt(S.replayed, { n: r.replayed }));
  });
  // The webhook's secret and headers are in the record: they are not shown.
  const rows = dead.map((d) => el("tr", { "data-dead": d.id },
    el("td", { text: d.event.instance_name }),
    el("td", { text: d.event.payload.type }),
    el("td", { class: "wrap", text: d.webhook.url }),
    el("td", { text: String(d.attempts) }),
    el("td", { class: "wrap", text: d.error }),
    el("td", { text: new Date(d.failed_at).toLocaleString() }),
    el("td", {}, el("button", { type: "button", text: S.replay, onclick: replay([d.id]) }))));
  show(view, el("section", { class: "card" }, el("h1", { text: S.deadTitle }),
    dead.length ? el("button", { type: "button", text: S.replayAll, onclick: replay(null) }) : el("p", { text: S.noDead }),
    dead.length ? el("table", {}, el("thead", {}, el("tr", {},
      ...[S.colInstance, S.colEvent, S.colDestination, S.colAttempts, S.colError, S.colFailed, ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows)) : null));
}

// ---- start -----------------------------------------------------------------------

window.addEventListener("hashchange", route);
document.getElementById("logout").addEventListener("click", async () => {
  try { await call("DELETE", "/session"); } catch (_) { /* logged out anyway */ }
  showLogin();
});
call("GET", "/session").then((who) => { state.who = who; startSession(); }, () => showLogin());
