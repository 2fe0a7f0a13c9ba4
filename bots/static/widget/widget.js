/*! ReplyDesk chat widget. One tag on any site:
 *  <script src="https://HOST/widget.js" data-bot="PUBLIC_KEY" async></script>
 * Renders inside a shadow root; everything anyone writes is set with textContent, never as HTML.
 * Protocol: docs/widget-protocol.md. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-bot][src*='widget.js']");
  if (!script || window.__replydeskWidget) { return; }
  var KEY = script.getAttribute("data-bot");
  if (!KEY) { return; }
  var BASE = new URL(script.src, location.href);
  var WS_URL = (BASE.protocol === "https:" ? "wss://" : "ws://") + BASE.host + "/ws/widget/" + encodeURIComponent(KEY) + "/";
  var STORE = "replydesk:" + KEY;
  var KEEPALIVE_MS = 120000;  // while a person is (to be) on the line: the server closes sockets idle for 10 min
  var FATAL = { 4403: true, 4404: true };

  var state = load();
  var socket = null, connected = false, retry = 0, seen = {}, rendered = {}, csatShown = false, contactId = null, withPerson = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify({ token: state.token, pending: state.pending || [], open: state.open })); } catch (e) { /* private mode */ }
  }
  function uid() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // --- the shadow root: the page's CSS cannot reach in, ours cannot leak out -------------------
  var host = el("replydesk-chat", { id: "replydesk-widget" });
  // Inline !important: the page's own rules on our host element cannot move or hide it.
  function placeHost(side) {
    var inline = { all: "initial", position: "fixed", bottom: "20px", "z-index": "2147483000", color: "#111",
                   font: "15px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                   left: side === "left" ? "20px" : "auto", right: side === "left" ? "auto" : "20px" };
    Object.keys(inline).forEach(function (name) { host.style.setProperty(name, inline[name], "important"); });
  }
  placeHost("right");
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = [
    ":host{--rd-colour:#2563eb}",
    "*{box-sizing:border-box;font:inherit;margin:0}",
    "button{cursor:pointer;border:0;border-radius:8px;padding:6px 10px;background:#eef0f3;color:#111}",
    "button:focus-visible,textarea:focus-visible{outline:3px solid var(--rd-colour);outline-offset:2px}",
    ".launcher{width:64px;height:64px;border-radius:50%;background:var(--rd-colour);color:#fff;font-size:15px;font-weight:600;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".panel{position:absolute;bottom:72px;right:0;width:370px;height:560px;max-height:calc(100vh - 100px);display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);overflow:hidden}",
    ":host(.left) .panel{right:auto;left:0}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--rd-colour);color:#fff}",
    "header img{width:32px;height:32px;border-radius:50%;object-fit:cover;background:#fff}",
    "header h2{flex:1;font-size:16px;font-weight:600}",
    "header button{background:transparent;color:#fff;font-size:20px;padding:2px 8px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f7f8fa}",
    ".msg{max-width:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.visitor{align-self:flex-end;background:var(--rd-colour);color:#fff;border-bottom-right-radius:4px}",
    ".msg.bot,.msg.agent{align-self:flex-start;background:#fff;border:1px solid #e3e6ea;border-bottom-left-radius:4px}",
    ".msg.system,.msg.notice,.msg.error{align-self:center;background:#fff7e6;border:1px solid #f5d48a;font-size:13px;text-align:center}",
    ".msg.error{background:#fdecec;border-color:#f3b1b1}",
    ".who{display:block;font-size:11px;opacity:.7;margin-bottom:2px}",
    ".status{display:block;font-size:11px;opacity:.8;text-align:right;margin-top:2px}",
    ".rate{display:flex;gap:4px;margin-top:6px}.rate button{padding:2px 8px;font-size:14px}",
    ".rate button[aria-pressed=true]{background:var(--rd-colour);color:#fff}",
    ".typing{padding:0 14px 6px;font-size:13px;color:#555;min-height:20px;background:#f7f8fa}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;padding:6px 12px;background:#f7f8fa}",
    ".quick button{border:1px solid var(--rd-colour);background:#fff;color:var(--rd-colour);border-radius:16px}",
    ".actions{display:flex;gap:6px;padding:6px 12px;border-top:1px solid #e3e6ea;font-size:13px}",
    ".actions button{font-size:13px;padding:4px 8px}",
    ".csat{padding:8px 12px;border-top:1px solid #e3e6ea;text-align:center}",
    ".queue{padding:8px 12px;border-top:1px solid #e3e6ea;background:#eef4ff;font-size:13px}",
    "form.offline{flex-direction:column;gap:6px;background:#fff}",
    "form.offline label{font-size:13px;font-weight:600}",
    "form.offline input{border:1px solid #cfd4da;border-radius:8px;padding:8px;color:#111;background:#fff}",
    "form.offline textarea{height:64px}",
    "form.offline [aria-invalid=true]{border-color:#d33}",
    ".form-error{color:#b00020;font-size:13px;min-height:0}",
    ".csat div{display:flex;justify-content:center;gap:6px;margin-top:6px}",
    "form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e3e6ea}",
    "form[hidden],.queue[hidden]{display:none}",
    "textarea{flex:1;resize:none;height:42px;border:1px solid #cfd4da;border-radius:8px;padding:8px;color:#111;background:#fff}",
    "form button{background:var(--rd-colour);color:#fff}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "@media (max-width:480px){.panel{position:fixed;inset:0;width:100vw;height:100vh;max-height:none;border-radius:0}}"
  ].join("\n");
  root.appendChild(style);

  var launcher = el("button", { "class": "launcher", type: "button", "aria-label": "Open chat", "aria-expanded": "false" }, "Chat");
  var panel = el("section", { "class": "panel", role: "dialog", "aria-label": "Chat" });
  panel.hidden = true;
  var header = el("header");
  var avatar = el("img", { alt: "" });
  avatar.hidden = true;
  var title = el("h2", {}, "Support");
  var closeButton = el("button", { type: "button", "aria-label": "Close chat" }, "\u00D7");
  header.append(avatar, title, closeButton);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
  var typing = el("div", { "class": "typing", "aria-live": "polite" });
  var quick = el("div", { "class": "quick", role: "group", "aria-label": "Suggested topics" });
  var actions = el("div", { "class": "actions" });
  var personButton = el("button", { type: "button" }, "Talk to a person");
  var endButton = el("button", { type: "button" }, "End chat");
  actions.append(personButton, endButton);
  var csat = el("div", { "class": "csat", role: "group", "aria-label": "Rate this conversation" });
  csat.hidden = true;
  // Waiting for a person: the place in the queue; when no one is available, a form for an email and a message
  // (built the first time it is needed).
  var queueBar = el("div", { "class": "queue", role: "status", "aria-live": "polite" });
  queueBar.hidden = true;
  var offline = null, emailInput = null, offlineText = null, offlineError = null;
  var form = el("form");
  var label = el("label", { "class": "sr", "for": "rd-input" }, "Your message");
  var input = el("textarea", { id: "rd-input", rows: "1", maxlength: "2000", placeholder: "Type your message\u2026" });
  var send = el("button", { type: "submit" }, "Send");
  form.append(label, input, send);
  panel.append(header, log, typing, quick, queueBar, actions, csat, form);
  root.append(panel, launcher);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    state.open = open;
    save();
    if (open) { connect(); input.focus(); } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { setOpen(false); } });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : submit(); }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
  personButton.addEventListener("click", function () {
    sendFrame({ type: "handoff" });
    // Already offered the offline form (an earlier handoff): take the visitor to it.
    if (offline && !offline.hidden) { emailInput.focus(); }
  });
  endButton.addEventListener("click", showCsat);

  function theme(bot) {
    var t = (bot && bot.theme) || {};
    if (t.colour) { host.style.setProperty("--rd-colour", t.colour); }
    title.textContent = t.title || (bot && bot.name) || "Support";
    panel.setAttribute("aria-label", title.textContent);
    if (t.avatar_url && /^https?:/.test(t.avatar_url)) { avatar.src = t.avatar_url; avatar.hidden = false; }
    host.classList.toggle("left", t.position === "left");
    placeHost(t.position);
  }

  // --- rendering: one element per sequence number, textContent only ----------------------------
  function addBubble(kind, text, who) {
    var bubble = el("div", { "class": "msg " + kind });
    if (who) { bubble.appendChild(el("span", { "class": "who" }, who)); }
    bubble.appendChild(el("span", { "class": "text" }, text));
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    return bubble;
  }
  function showFrame(frame) {
    if (frame.seq && rendered[frame.seq]) { return; }
    var bubble;
    if (frame.sender === "visitor") {
      bubble = frame.client_msg_id && log.querySelector("[data-client='" + cssEscape(frame.client_msg_id) + "']");
      if (!bubble) { bubble = addBubble("visitor", frame.text); }
      setStatus(bubble, "Sent");
    } else if (frame.type === "agent_message") {
      withPerson = true;
      bubble = addBubble("agent", frame.text, frame.agent_name || "Agent");
    } else if (frame.type === "handoff" || frame.type === "notice") {
      bubble = addBubble("notice", frame.text);
    } else {
      bubble = addBubble("bot", frame.text, title.textContent);
      if (frame.kind === "answer") { addRating(bubble, frame); }
    }
    bubble.setAttribute("data-seq", frame.seq);
    rendered[frame.seq] = true;
    quick.textContent = "";
    if (!frame.replay && frame.quick_replies && frame.quick_replies.length) { showQuickReplies(frame.quick_replies); }
    if (frame.sender !== "visitor") { typing.textContent = ""; }
  }
  function offlineForm() {
    if (offline) { return offline; }
    offline = el("form", { "class": "offline", novalidate: "", "aria-label": "Leave a message for our team" });
    emailInput = el("input", { id: "rd-offline-email", type: "email", autocomplete: "email", maxlength: "254", "aria-describedby": "rd-offline-error" });
    offlineText = el("textarea", { id: "rd-offline-text", maxlength: "2000", "aria-describedby": "rd-offline-error" });
    offlineError = el("p", { "class": "form-error", id: "rd-offline-error", role: "alert" });
    offline.append(el("p", {}, "Leave your email and a message; we will reply as soon as we are back."),
                   el("label", { "for": "rd-offline-email" }, "Your email"), emailInput,
                   el("label", { "for": "rd-offline-text" }, "Message for our team"), offlineText,
                   offlineError, el("button", { type: "submit" }, "Send message"));
    offline.addEventListener("submit", function (event) {
      event.preventDefault();
      contactId = uid();
      showContactError("", null);
      var frame = { type: "contact", email: emailInput.value.trim(), text: offlineText.value, client_msg_id: contactId };
      if (!sendFrame(frame)) { showContactError("Not connected; try again in a moment.", null); }
    });
    panel.insertBefore(offline, actions);
    return offline;
  }
  function hideOffline() { if (offline) { offline.hidden = true; } }
  function showQueue(frame) {
    withPerson = withPerson || frame.waiting;
    queueBar.hidden = !frame.waiting;
    if (!frame.waiting) { hideOffline(); return; }
    if (frame.agents_available) {
      queueBar.textContent = (frame.position === 1 ? "You are next in the queue." : "You are number " + frame.position + " in the queue.") +
        " Expected wait: " + frame.expected_wait + ".";
    } else if (frame.contact_left) {
      queueBar.textContent = "Thank you: we have your message and will reply by email.";
    } else {
      queueBar.textContent = frame.offline_reason === "outside_business_hours" ? "We are outside our business hours right now." : "No one from our team is online right now.";
    }
    var untouched = !offline || (!emailInput.value && !offlineText.value);
    if (frame.contact_left || (frame.agents_available && untouched)) { hideOffline(); }
    else if (!frame.agents_available && (!offline || offline.hidden)) { offlineForm().hidden = false; emailInput.focus(); }
  }
  function showContactError(message, field) {
    offlineError.textContent = message;
    emailInput.setAttribute("aria-invalid", String(field === "email"));
    offlineText.setAttribute("aria-invalid", String(field === "text"));
    if (field) { (field === "email" ? emailInput : offlineText).focus(); }
  }
  function cssEscape(value) { return window.CSS && CSS.escape ? CSS.escape(value) : value.replace(/[^\w-]/g, ""); }
  function setStatus(bubble, text) {
    var status = bubble.querySelector(".status") || bubble.appendChild(el("span", { "class": "status" }));
    status.textContent = text;
  }
  function addRating(bubble, frame) {
    var box = el("div", { "class": "rate", role: "group", "aria-label": "Was this helpful?" });
    [["up", "Helpful", "Helpful"], ["down", "Not helpful", "Not helpful"]].forEach(function (choice) {
      var button = el("button", { type: "button", "aria-label": choice[2], "aria-pressed": String(frame.feedback === choice[0]) }, choice[1]);
      button.addEventListener("click", function () {
        sendFrame({ type: "feedback", seq: frame.seq, value: choice[0] });
        box.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      });
      box.appendChild(button);
    });
    bubble.appendChild(box);
  }
  function showQuickReplies(replies) {
    replies.forEach(function (reply) {
      var button = el("button", { type: "button" }, reply.label);
      button.addEventListener("click", function () { quick.textContent = ""; post(reply.label, reply.intent); });
      quick.appendChild(button);
    });
  }
  function showCsat() {
    if (csatShown) { csat.hidden = false; return; }
    csatShown = true;
    csat.hidden = false;
    csat.appendChild(el("p", {}, "How did we do?"));
    var row = el("div");
    [1, 2, 3, 4, 5].forEach(function (rating) {
      var button = el("button", { type: "button", "aria-label": rating + " out of 5" }, "\u2605".repeat(rating));
      button.addEventListener("click", function () { sendFrame({ type: "csat", rating: rating }); });
      row.appendChild(button);
    });
    csat.appendChild(row);
    row.querySelector("button").focus();
  }

  // --- sending: every message has a client id; unacknowledged ones are resent on reconnect -----
  function submit() {
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    post(text);
  }
  function post(text, intent) {
    var message = { type: "message", text: text, client_msg_id: uid() };
    if (intent) { message.intent = intent; }
    state.pending = (state.pending || []).concat([message]);
    save();
    var bubble = addBubble("visitor", text);
    bubble.setAttribute("data-client", message.client_msg_id);
    setStatus(bubble, "Sending\u2026");
    if (connected) { sendFrame(message); }
  }
  function sendFrame(frame) {
    if (socket && connected) { socket.send(JSON.stringify(frame)); return true; }
    connect();
    return false;
  }
  function settle(clientId, seq, statusText) {
    state.pending = (state.pending || []).filter(function (m) { return m.client_msg_id !== clientId; });
    save();
    var bubble = log.querySelector("[data-client='" + cssEscape(clientId) + "']");
    if (bubble) {
      if (seq) { bubble.setAttribute("data-seq", seq); rendered[seq] = true; }
      setStatus(bubble, statusText);
    }
  }

  // --- the socket ------------------------------------------------------------------------------
  function connect() {
    if (socket) { return; }
    socket = new WebSocket(WS_URL);
    socket.onopen = function () {
      connected = true;
      retry = 0;
      var last = state.token ? (state.lastSeq || 0) : 0;
      socket.send(JSON.stringify(state.token ? { type: "resume", token: state.token, last_seq: last } : { type: "hello" }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    socket.onclose = function (event) {
      socket = null;
      connected = false;
      if (FATAL[event.code]) { return; }
      if (event.code === 4408 && !(state.pending || []).length) { return; }  // idle: reconnect when used
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry));
    };
  }
  function handle(frame) {
    if (frame.type === "welcome") {
      state.token = frame.token;
      save();
      theme(frame.bot);
      queueBar.hidden = true;  // a waiting conversation's place follows the welcome
      withPerson = frame.status === "waiting" || frame.status === "agent";
      if (frame.status !== "waiting") { hideOffline(); }
      if (!frame.resumed) {
        log.textContent = ""; rendered = {}; state.lastSeq = 0;
        addBubble("bot", frame.bot.greeting, title.textContent);
      } else if (!log.childElementCount) {
        addBubble("bot", frame.bot.greeting, title.textContent);
      }
      (state.pending || []).forEach(function (message) {
        if (!log.querySelector("[data-client='" + cssEscape(message.client_msg_id) + "']")) {
          var bubble = addBubble("visitor", message.text);
          bubble.setAttribute("data-client", message.client_msg_id);
          setStatus(bubble, "Sending\u2026");
        }
        socket.send(JSON.stringify(message));
      });
      return;
    }
    if (frame.type === "ack") {
      if (frame["for"] === "message") { settle(frame.client_msg_id, frame.seq, "Sent"); track(frame.seq); }
      if (frame["for"] === "contact" && frame.client_msg_id === contactId) {
        contactId = null; emailInput.value = ""; offlineText.value = ""; hideOffline(); track(frame.seq);
      }
      if (frame["for"] === "csat") { csat.textContent = ""; csat.appendChild(el("p", {}, "Thank you for your feedback!")); }
      return;
    }
    if (frame.type === "typing") {
      typing.textContent = frame.active ? (frame.sender === "agent" ? (frame.name || "An agent") + " is typing\u2026" : title.textContent + " is typing\u2026") : "";
      return;
    }
    if (frame.type === "queue_status") { showQueue(frame); return; }
    if (frame.type === "error") { return handleError(frame); }
    if (frame.type === "pong") { return; }
    if (typeof frame.seq === "number") {
      if (seen[frame.seq]) { return; }
      seen[frame.seq] = true;
      showFrame(frame);
      track(frame.seq);
    }
  }
  function track(seq) {
    if (seq > (state.lastSeq || 0)) {
      state.lastSeq = seq;
      if (socket && connected) { socket.send(JSON.stringify({ type: "ack", seq: seq })); }
    }
  }
  function handleError(frame) {
    var details = frame.details || {};
    if (frame.code === "invalid_token" || frame.code === "token_expired" || frame.code === "conversation_not_found") {
      state.token = null; state.lastSeq = 0; save();
      sendFrame({ type: "hello" });
      return;
    }
    if (frame.code === "seq_from_future") {
      log.textContent = ""; rendered = {}; seen = {}; state.lastSeq = 0;
      sendFrame({ type: "resume", token: state.token, last_seq: 0 });
      return;
    }
    if (contactId && (details.field || details.client_msg_id === contactId)) { showContactError(frame.message, details.field || null); return; }
    if (details.client_msg_id) { settle(details.client_msg_id, null, "Not sent: " + frame.message); typing.textContent = ""; return; }
    addBubble("error", frame.message);
    typing.textContent = "";
  }

  // Waiting for (or talking with) a person without typing must not let the socket idle out: live updates
  // (the place in the queue, the agent joining, their answers) would stop.
  setInterval(function () { if (withPerson && socket && connected) { socket.send(JSON.stringify({ type: "ping" })); } }, KEEPALIVE_MS);

  function mount() {
    document.body.appendChild(host);
    window.__replydeskWidget = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
    if (state.token || state.open) { setOpen(!!state.open); if (!state.open) { connect(); } }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
