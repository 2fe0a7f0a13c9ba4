/* The agent view: live queue, transcript, composer over /ws/agent/. Everything is rendered with textContent. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("agent-config").textContent);
  var snapshot = JSON.parse(document.getElementById("agent-snapshot").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var socket = null, retry = 0, current = null, entries = {}, knownWaiting = null, typingTimer = null, typingSent = false;
  var blanks = [];  // the [Name] blanks of the suggestion in the composer, until the agent fills them in
  var baseTitle = document.title;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function percent(value) { return typeof value === "number" ? Math.round(value * 100) + "%" : "?"; }
  function since(seconds) {
    if (seconds < 60) { return seconds + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    var minutes = Math.floor(seconds / 60) % 60;
    return Math.floor(seconds / 3600) + " h" + (minutes ? " " + minutes + " min" : "");
  }
  // Who has the conversation and since when: "with Alice · 2 min" once claimed, "waiting 4 min" before.
  function standing(row) {
    if (row.status === "agent" && row.claimed_by) { return "with " + row.claimed_by + " \u00b7 " + since(row.held_seconds || 0); }
    return "waiting " + since(row.waiting_seconds || 0);
  }
  function guessText(guess) {
    if (!guess) { return ""; }
    var text = guess.intent ? "Bot's guess: " + guess.intent + " · " + percent(guess.confidence) : "Bot's guess: none";
    if (guess.corrected_intent) { text += " · corrected to " + guess.corrected_intent; }
    return text;
  }
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    showError("Not connected; retrying\u2026");
    return false;
  }
  function act(type, fields) {
    if (!current) { return false; }
    return send(Object.assign({ type: type, conversation_id: current.id }, fields || {}));
  }
  function showError(message) { $("agent-error").textContent = message || ""; }

  // --- the queue ---------------------------------------------------------------------------------
  function renderList(list, rows, empty) {
    list.textContent = "";
    if (!rows.length) { list.appendChild(el("li", { "class": "muted" }, empty)); return; }
    rows.forEach(function (row) {
      var button = el("button", { type: "button", "data-conversation-id": String(row.id) });
      if (current && current.id === row.id) { button.setAttribute("aria-current", "true"); }
      button.appendChild(el("strong", {}, "#" + row.id + " · " + row.bot));
      var line = el("span", { "class": "reason" });
      if (row.reason_label) { line.appendChild(el("span", { "class": "reason-label" }, row.reason_label)); line.appendChild(document.createTextNode(" \u00b7 ")); }
      line.appendChild(el("span", { "class": "standing", "data-standing": row.status }, standing(row)));
      button.appendChild(line);
      button.appendChild(el("span", { "class": "last" }, row.last_message || (row.visitor_email ? "From " + row.visitor_email : "(no message yet)")));
      if (row.guess) { button.appendChild(el("span", { "class": "reason" }, guessText(row.guess))); }
      if (row.contact_left) { button.appendChild(el("span", { "class": "reason contact" }, "Left a message while no one was available · reply to " + row.visitor_email)); }
      button.addEventListener("click", function () { open(row.id); });
      var item = el("li");
      item.appendChild(button);
      list.appendChild(item);
    });
  }
  function renderQueue(data) {
    snapshot = data;
    renderList($("queue-waiting"), data.waiting, "Nobody is waiting.");
    renderList($("queue-mine"), data.mine, "You hold no conversation.");
    $("waiting-count").textContent = String(data.waiting.length);
    $("pending-tickets").textContent = data.pending_tickets + " pending for training";
    var ids = data.waiting.map(function (row) { return row.id; });
    if (knownWaiting !== null && ids.some(function (id) { return knownWaiting.indexOf(id) < 0; })) { announceNewcomer(); }
    knownWaiting = ids;
    document.title = (data.waiting.length ? "(" + data.waiting.length + ") " : "") + baseTitle;
  }
  function announceNewcomer() {
    try {
      var Audio = window.AudioContext || window.webkitAudioContext;
      var audio = new Audio(), tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.05;
      tone.connect(gain); gain.connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.15);
    } catch (e) { /* no sound: the title badge still counts */ }
  }

  // --- the open conversation -----------------------------------------------------------------------
  function open(id) {
    entries = {};
    $("transcript").textContent = "";
    send({ type: "subscribe", conversation_id: id });
  }
  function renderConversation(conversation) {
    current = conversation;
    $("conversation-empty").hidden = true;
    $("conversation").hidden = false;
    $("conversation-title").textContent = "Conversation #" + conversation.id + " · " + conversation.bot;
    var meta = conversation.status_label + (conversation.reason_label ? " · handed off: " + conversation.reason_label : "");
    if (conversation.claimed_by) { meta += " · with " + conversation.claimed_by; }
    if (conversation.visitor_email) { meta += " · " + (conversation.contact_left ? "reply by email to " : "") + conversation.visitor_email; }
    if (conversation.resolution) { meta += " · resolved: " + conversation.resolution; }
    $("conversation-meta").textContent = meta;
    var mine = conversation.status === "agent" && conversation.claimed_by_id === config.me;
    var claimable = conversation.status === "waiting" || conversation.status === "bot";
    $("claim").hidden = !claimable;
    $("claim").style.display = claimable ? "" : "none";  // button styles would override [hidden]
    ["return-to-bot", "transfer", "transfer-to", "send", "close"].forEach(function (id) { $(id).disabled = !mine; });
    renderList($("queue-waiting"), snapshot.waiting, "Nobody is waiting.");
    renderList($("queue-mine"), snapshot.mine, "You hold no conversation.");
  }
  function renderEntry(entry) {
    var item = el("li", { "class": entry.sender + " " + entry.kind, "data-seq": String(entry.seq) });
    var who = entry.internal ? "Internal note · " + (entry.author || "agent")
      : entry.sender === "visitor" ? (entry.kind === "offline" ? "Customer · left while no one was available" : "Customer") : entry.sender === "agent" ? (entry.author || "Agent")
      : entry.sender === "bot" ? "Bot" : "System";
    item.appendChild(el("span", { "class": "who" }, who));
    item.appendChild(el("span", { "class": "text" }, entry.text));
    if (entry.sender === "visitor") {
      item.appendChild(el("span", { "class": "guess" }, guessText(entry.guess)));
      if (entry.suggestions && entry.suggestions.length) {
        var box = el("div", { "class": "suggestions", "aria-label": "Suggested replies" });
        box.appendChild(el("span", { "class": "suggestions-label" }, "Suggested replies"));
        entry.suggestions.forEach(function (suggestion) {
          var button = el("button", { type: "button", "class": "button small suggestion", title: "From ticket #" + suggestion.ticket_id });
          appendMarked(button, suggestion.text, suggestion.blanks);
          button.addEventListener("click", function () { useSuggestion(suggestion); });
          box.appendChild(button);
        });
        item.appendChild(box);
      }
      item.appendChild(correctionForm(entry));
    }
    var existing = $("transcript").querySelector("[data-seq='" + entry.seq + "']");
    if (existing) { existing.replaceWith(item); return; }
    var after = null;
    Object.keys(entries).map(Number).sort(function (a, b) { return a - b; }).forEach(function (seq) { if (seq > entry.seq && after === null) { after = seq; } });
    entries[entry.seq] = true;
    var next = after === null ? null : $("transcript").querySelector("[data-seq='" + after + "']");
    $("transcript").insertBefore(item, next);
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }
  function correctionForm(entry) {
    var form = el("form", { "class": "correction" });
    var input = el("input", { type: "text", maxlength: "100", "aria-label": "Correct intent", placeholder: "Correct intent" });
    var label = el("label", { "class": "check" }), check = el("input", { type: "checkbox" });
    label.appendChild(check); label.appendChild(document.createTextNode(" new intent"));
    form.appendChild(input); form.appendChild(label); form.appendChild(el("button", { type: "submit", "class": "button small" }, "Save"));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.value.trim()) { act("correct_intent", { seq: entry.seq, intent: input.value.trim(), new_intent: check.checked }); }
    });
    return form;
  }

  // --- suggestions and their blanks --------------------------------------------------------------------
  // `text` into `node`, each of `marked` in it as a <mark>: the blanks an agent must fill in.
  function appendMarked(node, text, marked) {
    var rest = text;
    while (rest) {
      var at = -1, found = "";
      (marked || []).forEach(function (blank) {
        var index = rest.indexOf(blank);
        if (index >= 0 && (at < 0 || index < at)) { at = index; found = blank; }
      });
      if (at < 0) { node.appendChild(document.createTextNode(rest)); return; }
      if (at > 0) { node.appendChild(document.createTextNode(rest.slice(0, at))); }
      node.appendChild(el("mark", {}, found));
      rest = rest.slice(at + found.length);
    }
  }
  function blanksLeft() {
    var text = $("composer-text").value;
    return blanks.filter(function (blank) { return text.indexOf(blank) >= 0; });
  }
  function showBlanks() {
    var left = blanksLeft(), marks = $("composer-marks");
    marks.textContent = "";
    appendMarked(marks, $("composer-text").value + "\n", left);
    marks.scrollTop = $("composer-text").scrollTop;
    $("composer-blanks").textContent = left.length ? "Fill in the highlighted " + left.join(", ") + " before sending." : "";
    $("composer").classList.toggle("has-blanks", left.length > 0);
  }
  function selectBlank(blank) {
    var box = $("composer-text"), at = box.value.indexOf(blank);
    box.focus();
    if (at >= 0) { box.setSelectionRange(at, at + blank.length); }
  }
  function useSuggestion(suggestion) {
    $("composer-text").value = suggestion.text;
    blanks = suggestion.blanks || [];
    showBlanks();
    if (blanks.length) { selectBlank(blanks[0]); } else { $("composer-text").focus(); }
  }
  function clearComposer() {
    $("composer-text").value = "";
    blanks = [];
    showBlanks();
  }

  // --- composer and actions ----------------------------------------------------------------------------
  $("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("composer-text").value.trim(), left = blanksLeft();
    if (left.length) { showError("Fill in " + left.join(", ") + " first: the customer would read it as it is."); selectBlank(left[0]); return; }
    if (text && act("message", { text: text })) { clearComposer(); stopTyping(); }
  });
  $("add-note").addEventListener("click", function () {
    var text = $("composer-text").value.trim();
    if (text && act("note", { text: text })) { clearComposer(); }
  });
  $("composer-text").addEventListener("scroll", function () { $("composer-marks").scrollTop = $("composer-text").scrollTop; });
  $("composer-text").addEventListener("input", function () {
    showBlanks();
    if (!current || current.claimed_by_id !== config.me) { return; }
    if (!typingSent) { typingSent = act("typing", { active: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) { act("typing", { active: false }); typingSent = false; }
  }
  $("claim").addEventListener("click", function () { act("claim"); });
  $("return-to-bot").addEventListener("click", function () { act("return_to_bot"); });
  $("transfer").addEventListener("click", function () {
    var to = parseInt($("transfer-to").value, 10);
    if (to) { act("transfer", { to_user_id: to }); }
  });
  $("close-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var resolution = $("resolution").value.trim();
    if (!resolution) { showError("Write the resolution first: it is kept and learned from."); return; }
    if (act("close", { resolution: resolution })) { $("resolution").value = ""; }
  });
  config.members.forEach(function (member) {
    $("transfer-to").appendChild(el("option", { value: String(member.id) }, member.name));
  });

  // --- the socket ----------------------------------------------------------------------------------------
  function handle(frame) {
    if (frame.type === "queue_update") { renderQueue(frame); return; }
    if (frame.type === "conversation_update") {
      if (frame.transcript) { entries = {}; $("transcript").textContent = ""; showError(""); }
      if (!frame.transcript && (!current || current.id !== frame.conversation.id)) { return; }
      renderConversation(frame.conversation);
      (frame.transcript || []).forEach(renderEntry);
      return;
    }
    if (frame.type === "message") { if (current && frame.conversation_id === current.id) { renderEntry(frame.message); } return; }
    if (frame.type === "typing") {
      $("visitor-typing").textContent = frame.active ? "The customer is typing\u2026" : "";
      return;
    }
    if (frame.type === "ack") {
      showError("");
      if (frame["for"] === "claim" && (!current || current.id !== frame.conversation_id)) { open(frame.conversation_id); }
      return;
    }
    if (frame.type === "error") { showError(frame.message); }
  }
  function setStatus(state, text) {
    $("agent-status").setAttribute("data-state", state);
    $("agent-status").textContent = text;
  }
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + config.socket_path);
    socket.onopen = function () {
      retry = 0;
      setStatus("live", "Connected");
      showError("");
      if (current) { send({ type: "subscribe", conversation_id: current.id }); }
    };
    socket.onmessage = function (event) {
      try { handle(JSON.parse(event.data)); } catch (e) { showError("Could not read an update."); }
    };
    socket.onclose = function (event) {
      socket = null;
      var lost = event.code === 4401 || event.code === 1006 && retry > 5;
      setStatus(lost ? "lost" : "reconnecting", lost ? "Disconnected; sign in again." : "Reconnecting\u2026");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry));
    };
  }
  setInterval(function () {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ type: "ping" })); socket.send(JSON.stringify({ type: "queue" })); }
  }, 30000);
  renderQueue(snapshot);
  connect();
})();
