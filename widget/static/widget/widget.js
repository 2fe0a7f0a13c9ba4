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
  var KEEPALIVE_MS = 120000;    // while a person is (to be) on the line: the server closes sockets idle for 10 min
  var REPLY_TIMEOUT_MS = 20000; // a message the bot answers with nothing back this long after its ack: resume
  var TYPING_TIMEOUT_MS = 30000; // a typing indicator nobody renews goes away
  var REFUSED = { 4403: true, 4404: true };  // the site may not use this bot: reconnecting cannot help
  var DELAYED = "Answer delayed \u2014 retrying\u2026";
  var UNAVAILABLE = "Chat isn't available on this page right now.";

  var state = load();
  var socket = null, connected = false, started = false, retry = 0, reconnectTimer = null, refused = false;
  var seen = {}, rendered = {}, outbox = [], contactId = null, withPerson = false, status = null;
  // Visitor messages the bot owes a reply: seq -> watchdog timer (null once reported delayed).
  var awaiting = {}, lastReplySeq = 0, delayRetry = 0, typingTimer = null;
  // The offline form: offered (no one can take over now), dismissed by the visitor, the text sent with it.
  var offeredOffline = false, offlineDismissed = false, contactText = "";

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try {
      localStorage.setItem(STORE, JSON.stringify({
        token: state.token, pending: state.pending || [], open: state.open, conversation: state.conversation,
        email: state.email, rated: state.rated, prompted: state.prompted
      }));
    } catch (e) { /* private mode */ }
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
  // The panel is a flex column: the header, the actions and the composer keep their height; the transcript takes
  // what is left (never under 120 px) and scrolls; the tray (offline form, rating, notices) shrinks and scrolls first.
  style.textContent = [
    ":host{--rd-colour:#2563eb}",
    "*{box-sizing:border-box;font:inherit;margin:0}",
    "[hidden]{display:none!important}",
    "button{cursor:pointer;border:0;border-radius:8px;padding:6px 10px;background:#eef0f3;color:#111}",
    "button:disabled,textarea:disabled{cursor:not-allowed;opacity:.55}",
    "button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid var(--rd-colour);outline-offset:2px}",
    ".launcher{width:64px;height:64px;border-radius:50%;background:var(--rd-colour);color:#fff;font-size:15px;font-weight:600;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".panel{position:absolute;bottom:72px;right:0;width:370px;height:560px;max-height:calc(100vh - 100px);display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);overflow:hidden}",
    ".panel>*{flex:none}",
    ":host(.left) .panel{right:auto;left:0}",
    "header{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--rd-colour);color:#fff}",
    "header img{width:32px;height:32px;border-radius:50%;object-fit:cover;background:#fff}",
    "header h2{flex:1;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    "header button{background:transparent;color:#fff;font-size:20px;line-height:1;padding:4px 8px}",
    ".panel>.log{flex:1 1 0;min-height:120px;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f7f8fa}",
    ".msg{flex:none;max-width:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.visitor{align-self:flex-end;background:var(--rd-colour);color:#fff;border-bottom-right-radius:4px}",
    ".msg.bot,.msg.agent{align-self:flex-start;background:#fff;border:1px solid #e3e6ea;border-bottom-left-radius:4px}",
    ".msg.system,.msg.notice,.msg.error{align-self:center;background:#fff7e6;border:1px solid #f5d48a;font-size:13px;text-align:center}",
    ".msg.error{background:#fdecec;border-color:#f3b1b1}",
    ".who{display:block;font-size:11px;opacity:.7;margin-bottom:2px}",
    ".status{display:block;font-size:11px;opacity:.85;text-align:right;margin-top:2px}",
    ".msg.delayed .status{font-weight:600}",
    ".rate{display:flex;gap:4px;margin-top:6px}.rate button{padding:2px 8px;font-size:13px}",
    ".rate button[aria-pressed=true]{background:var(--rd-colour);color:#fff}",
    ".typing{padding:2px 14px;font-size:13px;color:#555;min-height:22px;background:#f7f8fa}",
    ".panel>.quick{display:flex;flex-wrap:wrap;gap:6px;padding:6px 12px;background:#f7f8fa;max-height:88px;overflow-y:auto}",
    ".quick:empty{display:none}",
    ".quick button{border:1px solid var(--rd-colour);background:#fff;color:var(--rd-colour);border-radius:16px}",
    ".queue{padding:8px 12px;border-top:1px solid #e3e6ea;background:#eef4ff;font-size:13px}",
    ".panel>.tray{flex:0 1 auto;min-height:0;overflow-y:auto;border-top:1px solid #e3e6ea}",
    ".tray:empty,.tray:not(:has(>:not([hidden]))){display:none}",
    ".tray>*+*{border-top:1px solid #e3e6ea}",
    ".offline{display:flex;flex-direction:column;gap:6px;padding:10px 12px;background:#fff;font-size:13px}",
    ".offline label{font-weight:600}",
    ".offline .row{display:flex;gap:8px;align-items:center}",
    ".offline input{flex:1;min-width:0;border:1px solid #cfd4da;border-radius:8px;padding:7px 8px;color:#111;background:#fff;font-size:15px}",
    ".offline [aria-invalid=true],textarea[aria-invalid=true]{border-color:#d33}",
    ".form-error{color:#b00020;font-size:13px}",
    ".form-error:empty{display:none}",
    "button.secondary{background:transparent;color:#374151;text-decoration:underline;padding:4px 6px;font-size:13px}",
    ".csat{padding:10px 12px;text-align:center;background:#fff}",
    ".csat .stars{display:flex;justify-content:center;gap:2px;margin:4px 0}",
    ".csat .stars button{background:transparent;color:#c3c8cf;font-size:26px;line-height:1;padding:2px 4px}",
    ".csat .stars:hover button,.csat .stars button:focus-visible{color:#f59e0b}",
    ".csat .stars button:hover~button{color:#c3c8cf}",
    ".unavailable{padding:12px;background:#fdecec;color:#7f1d1d;text-align:center;font-size:14px}",
    ".actions{display:flex;gap:6px;padding:6px 12px;border-top:1px solid #e3e6ea;font-size:13px}",
    ".actions button{font-size:13px;padding:4px 8px}",
    ".actions .end{margin-left:auto}",
    "form.composer{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e3e6ea;background:#fff}",
    "form.composer textarea{flex:1;min-width:0;resize:none;height:42px;border:1px solid #cfd4da;border-radius:8px;padding:8px;color:#111;background:#fff}",
    "form.composer.team textarea{height:64px}",
    "form.composer button{flex:none;background:var(--rd-colour);color:#fff;font-weight:600;padding:6px 14px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "@media (max-width:480px){.panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}" +
      ".launcher[aria-expanded=true]{display:none}}"
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
  // Waiting for a person: the place in the queue.
  var queueBar = el("div", { "class": "queue", role: "status", "aria-live": "polite" });
  queueBar.hidden = true;
  // The tray holds at most one panel at a time: the offline form, the rating, or the notice that chat is off here.
  var tray = el("div", { "class": "tray" });
  var offline = null, emailInput = null, offlineError = null;
  var csat = el("div", { "class": "csat", role: "group", "aria-label": "Rate this conversation" });
  csat.hidden = true;
  var unavailable = el("p", { "class": "unavailable", role: "alert" });
  unavailable.hidden = true;
  tray.append(csat, unavailable);
  var actions = el("div", { "class": "actions" });
  var personButton = el("button", { type: "button" }, "Talk to a person");
  var emailButton = el("button", { type: "button" }, "Leave your email");
  emailButton.hidden = true;
  var endButton = el("button", { type: "button", "class": "end" }, "End chat");
  actions.append(personButton, emailButton, endButton);
  // One composer, one primary button: while the offline form is open it sends to the team (with the email).
  var form = el("form", { "class": "composer" });
  var label = el("label", { "class": "sr", "for": "rd-input" }, "Your message");
  var input = el("textarea", { id: "rd-input", rows: "1", maxlength: "2000", placeholder: "Type your message\u2026" });
  var send = el("button", { type: "submit" }, "Send");
  form.append(label, input, send);
  panel.append(header, log, typing, quick, queueBar, tray, actions, form);
  root.append(panel, launcher);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    state.open = open;
    save();
    if (open) {
      connect();
      (input.disabled ? closeButton : input).focus();
      toLatest();
    } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { setOpen(false); } });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : submit(); }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
  personButton.addEventListener("click", function () { offlineDismissed = false; sendFrame({ type: "handoff" }); });
  emailButton.addEventListener("click", function () { offlineDismissed = false; showOffline(true); });
  endButton.addEventListener("click", endChat);

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
    toLatest();
    return bubble;
  }
  // The transcript stays at its newest message when a panel opens below it and makes it shorter, unless the
  // visitor scrolled up to read (the widget's own scrolling does not count).
  var pinned = true, scrolledTo = 0;
  function toLatest() {
    log.scrollTop = log.scrollHeight;
    scrolledTo = log.scrollTop;
    pinned = true;
  }
  log.addEventListener("scroll", function () {
    if (log.scrollTop !== scrolledTo) { pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 24; }
  });
  if (window.ResizeObserver) {
    new ResizeObserver(function () { if (pinned) { toLatest(); } }).observe(log);
  }
  // So does what grows inside it after it scrolled: an answer's rating row, a message's status line.
  new MutationObserver(function () { if (pinned) { toLatest(); } }).observe(log, { childList: true, subtree: true, characterData: true });
  function greet(bot) {
    if (bot && bot.greeting) { addBubble("bot", bot.greeting, title.textContent); }
  }
  function showFrame(frame) {
    if (frame.seq && rendered[frame.seq]) { return; }
    var bubble;
    if (frame.sender === "visitor") {
      bubble = frame.client_msg_id && log.querySelector("[data-client='" + cssEscape(frame.client_msg_id) + "']");
      if (!bubble) { bubble = addBubble("visitor", frame.text); }
      setStatus(bubble, "Sent");
    } else if (frame.type === "agent_message") {
      bubble = addBubble("agent", frame.text, frame.agent_name || "Agent");
    } else if (frame.type === "notice" && frame.sender === "bot") {
      bubble = addBubble("bot", frame.text, title.textContent);  // the bot, while the team is away
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
    if (frame.sender !== "visitor") { showTyping(""); replied(frame.seq); }
    if (frame.replay) { return; }  // history: the welcome's status is where the conversation stands now
    if (frame.type === "agent_message") { setStatusOf("agent"); }
    if (frame.type === "handoff") { offlineDismissed = false; setStatusOf("waiting"); }
  }
  function cssEscape(value) { return window.CSS && CSS.escape ? CSS.escape(value) : value.replace(/[^\w-]/g, ""); }
  function setStatus(bubble, text) {
    var line = bubble.querySelector(".status") || bubble.appendChild(el("span", { "class": "status" }));
    line.textContent = text;
    bubble.classList.toggle("delayed", text === DELAYED);
  }
  function addRating(bubble, frame) {
    var box = el("div", { "class": "rate", role: "group", "aria-label": "Was this helpful?" });
    [["up", "Helpful"], ["down", "Not helpful"]].forEach(function (choice) {
      var button = el("button", { type: "button", "aria-pressed": String(frame.feedback === choice[0]) }, choice[1]);
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
  function showTyping(text) {
    clearTimeout(typingTimer);
    typing.textContent = text;
    if (text) { typingTimer = setTimeout(function () { typing.textContent = ""; }, TYPING_TIMEOUT_MS); }
  }

  // --- the conversation's status: who answers, what the panel offers ------------------------------
  function setStatusOf(next) {
    status = next;
    withPerson = next === "waiting" || next === "agent";
    personButton.hidden = withPerson || refused;
    if (next !== "waiting") {
      queueBar.hidden = true;
      hideOffline();
    }
    if (next === "agent") { forgetAwaiting(); }  // a person answers now, whenever they do
    if (next === "closed") {
      showTyping("");
      forgetAwaiting();
      if (state.prompted !== state.conversation && state.rated !== state.conversation) { showCsat(false); }
    }
  }

  // Waiting for a person with no one available: an email field for the team's reply. Once an email is typed the
  // composer sends the message to the team (button "Send to our team"); until then it still asks the bot, which
  // answers what it can while the conversation waits. One text box and one primary button either way.
  function offlineForm() {
    if (offline) { return offline; }
    offline = el("form", { "class": "offline", novalidate: "", "aria-label": "Reply by email" });
    emailInput = el("input", { id: "rd-offline-email", type: "email", autocomplete: "email", maxlength: "254",
                               placeholder: "name@example.com", "aria-describedby": "rd-offline-error" });
    offlineError = el("p", { "class": "form-error", id: "rd-offline-error", role: "alert" });
    var notNow = el("button", { type: "button", "class": "secondary" }, "Not now");
    notNow.addEventListener("click", function () { offlineDismissed = true; hideOffline(); input.focus(); });
    var row = el("div", { "class": "row" });
    row.append(emailInput, notNow);
    offline.append(el("p", {}, "Leave your email, then write your message below: we will reply by email."),
                   el("label", { "for": "rd-offline-email" }, "Your email"), row, offlineError);
    offline.addEventListener("submit", function (event) { event.preventDefault(); input.focus(); });
    emailInput.addEventListener("input", function () { composerMode(!!emailInput.value.trim()); });
    tray.insertBefore(offline, tray.firstChild);
    return offline;
  }
  function showOffline(focus) {
    if (refused) { return; }
    hideCsat();
    offlineForm().hidden = false;
    emailButton.hidden = true;
    composerMode(!!emailInput.value.trim());
    if (focus && !panel.hidden) { emailInput.focus(); }
  }
  function hideOffline() {
    if (offline) { offline.hidden = true; }
    composerMode(false);
    emailButton.hidden = !(status === "waiting" && offeredOffline && !state.email && !refused);
  }
  function offlineOpen() { return !!offline && !offline.hidden; }
  function composerMode(toTeam) {
    send.textContent = toTeam ? "Send to our team" : "Send";
    form.classList.toggle("team", toTeam);
    input.placeholder = toTeam ? "Your message for our team\u2026" : "Type your message\u2026";
    label.textContent = toTeam ? "Message for our team" : "Your message";
    if (!toTeam) { input.removeAttribute("aria-invalid"); }
  }
  function showQueue(frame) {
    if (!frame.waiting) { queueBar.hidden = true; hideOffline(); return; }
    withPerson = true;
    status = "waiting";
    personButton.hidden = true;
    queueBar.hidden = false;
    if (frame.agents_available) {
      queueBar.textContent = (frame.position === 1 ? "You are next in the queue." : "You are number " + frame.position + " in the queue.") +
        " Expected wait: " + frame.expected_wait + ".";
    } else if (frame.contact_left) {
      queueBar.textContent = state.email ? "We'll reply to " + state.email + "." : "We have your message and will reply by email.";
    } else {
      queueBar.textContent = frame.offline_reason === "outside_business_hours" ? "We are outside our business hours right now." : "No one from our team is online right now.";
    }
    offeredOffline = !frame.agents_available && !frame.contact_left;
    var untouched = !offline || !emailInput.value;
    if (frame.contact_left || (frame.agents_available && untouched)) { offeredOffline = false; hideOffline(); }
    else if (offeredOffline && !offlineOpen() && !offlineDismissed && csat.hidden) { showOffline(true); }
    else if (!offlineOpen()) { hideOffline(); }
  }
  function showContactError(message, field) {
    offlineError.textContent = message;
    emailInput.setAttribute("aria-invalid", String(field === "email"));
    input.setAttribute("aria-invalid", String(field === "text"));
    if (field) { (field === "email" ? emailInput : input).focus(); }
  }

  // --- the end of a conversation: the rating, then a fresh conversation ----------------------------
  function endChat() {
    if (refused) { return; }
    if (state.rated && state.rated === state.conversation) { newConversation(); return; }
    showCsat(true);
  }
  function showCsat(focus) {
    hideOffline();
    state.prompted = state.conversation;
    save();
    csat.textContent = "";
    csat.hidden = false;
    csat.appendChild(el("p", {}, "How did we do?"));
    var stars = el("div", { "class": "stars" });
    [1, 2, 3, 4, 5].forEach(function (rating) {
      var button = el("button", { type: "button", "aria-label": rating + " out of 5" }, "\u2605");
      button.addEventListener("click", function () {
        stars.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        sendFrame({ type: "csat", rating: rating });
      });
      stars.appendChild(button);
    });
    var notNow = el("button", { type: "button", "class": "secondary" }, "Not now");
    notNow.addEventListener("click", function () { hideCsat(); input.focus(); });
    csat.append(stars, notNow);
    if (focus) { stars.querySelector("button").focus(); }
  }
  function thankForRating() {
    state.rated = state.conversation;
    save();
    csat.textContent = "";
    csat.hidden = false;
    var again = el("button", { type: "button", "class": "secondary" }, "Start a new chat");
    again.addEventListener("click", newConversation);
    csat.append(el("p", {}, "Thank you for your feedback!"), again);
  }
  function hideCsat() { csat.hidden = true; }
  function newConversation() {
    log.textContent = "";
    rendered = {}; seen = {}; forgetAwaiting();
    state.token = null; state.pending = []; state.lastSeq = 0; state.conversation = null;
    state.email = null; state.rated = null; state.prompted = null;
    save();
    hideCsat(); queueBar.hidden = true; offeredOffline = false; offlineDismissed = false; hideOffline();
    if (offline) { emailInput.value = ""; offlineError.textContent = ""; }
    quick.textContent = ""; showTyping("");
    started = false;  // until its welcome, what the visitor writes waits for the new conversation
    startOver({ type: "hello" });
    input.focus();
  }

  // --- sending: every message has a client id; unacknowledged ones are resent on reconnect -----
  function submit() {
    if (refused) { return; }
    if (offlineOpen() && emailInput.value.trim()) { return sendContact(); }
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    post(text);
  }
  function sendContact() {
    contactId = uid();
    showContactError("", null);
    send.disabled = true;
    contactText = input.value.trim();
    sendFrame({ type: "contact", email: emailInput.value.trim(), text: input.value, client_msg_id: contactId });
  }
  function post(text, intent) {
    var message = { type: "message", text: text, client_msg_id: uid() };
    if (intent) { message.intent = intent; }
    state.pending = (state.pending || []).concat([message]);
    save();
    hideCsat();  // a new question reopens a closed conversation
    if (status === "closed") { status = "bot"; }
    var bubble = addBubble("visitor", text);
    bubble.setAttribute("data-client", message.client_msg_id);
    setStatus(bubble, "Sending\u2026");
    if (started) { socket.send(JSON.stringify(message)); } else { connect(); }
  }
  // Frames other than messages wait in the outbox until the conversation is (re)started on a socket.
  function sendFrame(frame) {
    if (started) { socket.send(JSON.stringify(frame)); return; }
    outbox.push(frame);
    connect();
  }
  // `hello` or `resume`: on the open socket, or the next one opens with it (from the stored token).
  function startOver(frame) {
    if (connected) { socket.send(JSON.stringify(frame)); } else { connect(); }
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

  // --- every message the bot answers gets an answer: watch, and resume when one is late ----------
  function expectReply(seq) {
    if (status === "agent" || seq <= lastReplySeq) { return; }
    clearTimeout(awaiting[seq]);
    awaiting[seq] = setTimeout(function () { delayed(seq); }, REPLY_TIMEOUT_MS);
  }
  function replied(seq) {
    lastReplySeq = Math.max(lastReplySeq, seq);
    Object.keys(awaiting).forEach(function (key) {
      if (Number(key) < seq) { answeredOrPerson(key); delayRetry = 0; }
    });
  }
  function answeredOrPerson(key) {
    clearTimeout(awaiting[key]);
    delete awaiting[key];
    var bubble = log.querySelector(".msg.visitor[data-seq='" + key + "']");
    if (bubble && bubble.classList.contains("delayed")) { setStatus(bubble, "Sent"); }
  }
  function forgetAwaiting() { Object.keys(awaiting).forEach(answeredOrPerson); }
  function delayed(seq) {
    if (!(seq in awaiting) || seq <= lastReplySeq) { return; }
    clearTimeout(awaiting[seq]);
    awaiting[seq] = null;
    var bubble = log.querySelector(".msg.visitor[data-seq='" + seq + "']");
    if (bubble) { setStatus(bubble, DELAYED); }
    showTyping("");
    // The server answers what it still owes on resume: a fresh socket resumes after a short backoff.
    delayRetry = Math.min(delayRetry + 1, 5);
    reconnect(1000 * Math.pow(2, delayRetry - 1));
  }

  // --- the socket ------------------------------------------------------------------------------
  function connect() {
    if (socket || refused) { return; }
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    var ws = socket = new WebSocket(WS_URL);
    ws.onopen = function () {
      if (ws !== socket) { return; }
      connected = true;
      var last = state.token ? (state.lastSeq || 0) : 0;
      ws.send(JSON.stringify(state.token ? { type: "resume", token: state.token, last_seq: last } : { type: "hello" }));
    };
    ws.onmessage = function (event) {
      if (ws !== socket) { return; }
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function (event) {
      if (ws !== socket) { return; }  // one this widget replaced on purpose
      socket = null;
      connected = started = false;
      showTyping("");
      if (REFUSED[event.code]) { refuse(null); return; }
      var owed = (state.pending || []).length || outbox.length || Object.keys(awaiting).length;
      if (event.code === 4408 && !owed) { return; }  // idle: reconnect when used
      retry = Math.min(retry + 1, 6);
      scheduleConnect(250 * Math.pow(2, retry));
    };
  }
  function scheduleConnect(delay) {
    if (reconnectTimer || refused) { return; }
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }
  function reconnect(delay) {
    var old = socket;
    socket = null;
    connected = started = false;
    if (old) { try { old.close(4000, "resume"); } catch (e) { /* already closing */ } }
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    scheduleConnect(delay);
  }
  // The server refused this page (origin not allowed, unknown bot): nothing can be sent, and reconnecting
  // would not change that. The visitor is told plainly; what the site owner must fix goes to the console.
  function refuse(frame) {
    if (frame) {
      console.warn("ReplyDesk widget: " + frame.message + " (" + frame.code + "). " +
                   (frame.code === "origin_not_allowed" ? "Add this page's origin to the bot's allowed origins in the ReplyDesk console." :
                    "Check the data-bot key of the widget's script tag."));
    }
    if (refused) { return; }
    refused = true;
    clearTimeout(reconnectTimer);
    forgetAwaiting();
    (state.pending || []).forEach(function (message) { settle(message.client_msg_id, null, "Not sent"); });
    state.pending = []; outbox = [];
    save();
    showTyping(""); quick.textContent = ""; queueBar.hidden = true; hideCsat(); hideOffline();
    unavailable.textContent = UNAVAILABLE;
    unavailable.hidden = false;
    input.disabled = send.disabled = true;
    input.placeholder = "Chat is unavailable";
    actions.hidden = true;
  }
  function handle(frame) {
    if (frame.type === "welcome") { return welcome(frame); }
    if (frame.type === "ack") {
      if (frame["for"] === "message") {
        settle(frame.client_msg_id, frame.seq, "Sent");
        track(frame.seq);
        expectReply(frame.seq);
      }
      if (frame["for"] === "contact" && frame.client_msg_id === contactId) {
        contactId = null;
        send.disabled = false;
        state.email = emailInput.value.trim();
        save();
        if (input.value.trim() === contactText) { input.value = ""; }
        offeredOffline = false;
        hideOffline();
        queueBar.hidden = false;
        queueBar.textContent = "We'll reply to " + state.email + ".";
        track(frame.seq);
      }
      if (frame["for"] === "csat") { thankForRating(); status = "closed"; }
      return;
    }
    if (frame.type === "typing") {
      showTyping(frame.active ? (frame.sender === "agent" ? (frame.name || "An agent") + " is typing\u2026" : title.textContent + " is typing\u2026") : "");
      return;
    }
    if (frame.type === "status") {
      if (frame.status === "bot") { offeredOffline = false; }
      setStatusOf(frame.status);
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
  function welcome(frame) {
    var fresh = !frame.resumed || frame.conversation_id !== state.conversation;
    started = true;
    retry = 0;
    state.token = frame.token;
    state.conversation = frame.conversation_id;
    if (fresh) { state.email = null; state.rated = null; state.prompted = null; }
    save();
    theme(frame.bot);
    queueBar.hidden = true;  // a waiting conversation's place follows the welcome
    if (!frame.resumed) {
      forgetAwaiting();
      log.textContent = ""; rendered = {}; seen = {}; state.lastSeq = 0; lastReplySeq = 0;
      greet(frame.bot);
    } else if (!log.childElementCount) {
      greet(frame.bot);
    }
    setStatusOf(frame.status);
    (state.pending || []).forEach(function (message) {
      if (!log.querySelector("[data-client='" + cssEscape(message.client_msg_id) + "']")) {
        var bubble = addBubble("visitor", message.text);
        bubble.setAttribute("data-client", message.client_msg_id);
        setStatus(bubble, "Sending\u2026");
      }
      socket.send(JSON.stringify(message));
    });
    var queued = outbox;
    outbox = [];
    queued.forEach(function (queuedFrame) { socket.send(JSON.stringify(queuedFrame)); });
    // Still owed after a resume: the server answers them now; watch again.
    Object.keys(awaiting).forEach(function (key) {
      if (awaiting[key] === null) { awaiting[key] = setTimeout(function () { delayed(Number(key)); }, REPLY_TIMEOUT_MS); }
    });
  }
  function track(seq) {
    if (seq > (state.lastSeq || 0)) {
      state.lastSeq = seq;
      if (socket && connected) { socket.send(JSON.stringify({ type: "ack", seq: seq })); }
    }
  }
  // Errors a visitor can act on are shown; the rest are for whoever runs the site (the console).
  var SHOWN_ERRORS = { rate_limited: true, message_too_long: true, invalid_message: true };
  function handleError(frame) {
    var details = frame.details || {};
    if (frame.code === "origin_not_allowed" || frame.code === "unknown_bot") { return refuse(frame); }
    if (frame.code === "idle_timeout") { return; }  // the close follows; the next message reconnects
    if (frame.code === "answer_delayed") {
      if (typeof details.seq === "number") {
        if (!(details.seq in awaiting)) { awaiting[details.seq] = null; }
        delayed(details.seq);
      }
      return;
    }
    if (frame.code === "invalid_token" || frame.code === "token_expired" || frame.code === "conversation_not_found") {
      state.token = null; state.lastSeq = 0; save();
      startOver({ type: "hello" });
      return;
    }
    if (frame.code === "seq_from_future") {
      log.textContent = ""; rendered = {}; seen = {}; state.lastSeq = 0; lastReplySeq = 0;
      startOver({ type: "resume", token: state.token, last_seq: 0 });
      return;
    }
    if (contactId && (details.field || details.client_msg_id === contactId)) {
      send.disabled = false;
      contactId = null;
      showContactError(frame.message, details.field || null);
      return;
    }
    if (frame.code === "unavailable" && frame.retry) {
      // The database or the channel layer failed: a message not acknowledged stays pending and is sent again,
      // with the same client id, on a fresh socket after a backoff; the resume brings what live events missed.
      var bubble = details.client_msg_id && log.querySelector("[data-client='" + cssEscape(details.client_msg_id) + "']");
      if (bubble && !bubble.hasAttribute("data-seq")) { setStatus(bubble, "Not sent yet \u2014 retrying\u2026"); }
      showTyping("");
      delayRetry = Math.min(delayRetry + 1, 5);
      reconnect(1000 * Math.pow(2, delayRetry - 1));
      return;
    }
    if (details.client_msg_id) { settle(details.client_msg_id, null, "Not sent: " + frame.message); showTyping(""); return; }
    showTyping("");
    if (SHOWN_ERRORS[frame.code]) { addBubble("error", frame.message); return; }
    console.warn("ReplyDesk widget: " + frame.message + " (" + frame.code + ")");
  }

  // Waiting for (or talking with) a person without typing must not let the socket idle out: live updates
  // (the place in the queue, the agent joining, their answers) would stop.
  setInterval(function () { if (withPerson && socket && started) { socket.send(JSON.stringify({ type: "ping" })); } }, KEEPALIVE_MS);

  function mount() {
    document.body.appendChild(host);
    window.__replydeskWidget = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
    if (state.token || state.open) { setOpen(!!state.open); if (!state.open) { connect(); } }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
