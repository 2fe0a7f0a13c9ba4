/* ReplyDesk console: the few live parts, in plain JavaScript (served from here; no inline scripts under the CSP). */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Forms that change or delete something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Filter forms marked data-autosubmit apply a changed choice at once (the button stays for keyboards).
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit") && event.target.matches("select")) form.requestSubmit();
  });

  // Copy buttons: data-copy names the field whose text to copy.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // Upload: the server renders the preview (mapping, first rows, row errors) as a fragment shown in place.
  function setupUploadPreview(form) {
    var target = document.querySelector(form.getAttribute("data-preview-target"));
    var fileInput = form.querySelector("input[type=file]");
    var pending = null;
    function preview() {
      if (!fileInput.files.length) return;
      var data = new FormData(form);
      if (pending) pending.abort();
      pending = new AbortController();
      target.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST", body: data, credentials: "same-origin", signal: pending.signal,
        headers: { "X-CSRFToken": csrfToken(form) },
      }).then(function (response) { return response.text(); })
        .then(function (html) { target.innerHTML = html; target.removeAttribute("aria-busy"); })
        .catch(function (error) { if (error.name !== "AbortError") target.removeAttribute("aria-busy"); });
    }
    fileInput.addEventListener("change", function () {
      target.querySelectorAll("select").forEach(function (select) { select.value = ""; });
      target.innerHTML = "";
      preview();
    });
    target.addEventListener("change", function (event) { if (event.target.matches("select")) preview(); });
    var button = form.querySelector("[data-preview-button]");
    if (button) button.addEventListener("click", preview);
  }
  document.querySelectorAll("form[data-preview-url]").forEach(setupUploadPreview);

  // Imports still being read: reload the list until they finish.
  var importsTable = document.querySelector("[data-reload-while-unfinished]");
  if (importsTable) {
    var reloadLater = function () {
      var busy = Array.prototype.some.call(document.querySelectorAll("input[type=file]"), function (input) { return input.files.length; });
      if (busy) setTimeout(reloadLater, 3000); else window.location.reload();
    };
    setTimeout(reloadLater, Number(importsTable.getAttribute("data-reload-while-unfinished")));
  }

  // Training runs: poll the REST endpoint and update progress, stage and log in place.
  function renderLog(list, log) {
    list.textContent = "";
    log.forEach(function (entry) {
      var item = document.createElement("li");
      var time = document.createElement("time");
      time.textContent = (entry.at || "").slice(11, 19);
      var stage = document.createElement("span");
      stage.className = "tag";
      stage.textContent = entry.stage;
      item.append(time, " ", stage, " " + entry.message);
      list.appendChild(item);
    });
  }
  var LABELS = { queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled" };
  function pollRuns(container) {
    var interval = Number(container.getAttribute("data-poll"));
    function tick() {
      fetch(container.getAttribute("data-runs-url") + "?limit=20", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (body) {
          var unfinished = false, finishedNow = false;
          (body.results || body).forEach(function (run) {
            var card = container.querySelector('[data-run="' + run.id + '"]');
            if (!card) { finishedNow = true; return; }
            var wasUnfinished = card.getAttribute("data-status") === "queued" || card.getAttribute("data-status") === "running";
            card.setAttribute("data-status", run.status);
            var badge = card.querySelector('[data-field="status"]');
            badge.className = "badge badge-" + run.status;
            badge.textContent = LABELS[run.status] || run.status;
            card.querySelector('[data-field="stage"]').textContent = run.stage + (run.epochs ? " · epoch " + run.epoch + "/" + run.epochs : "");
            var bar = card.querySelector('[data-field="percent"]');
            bar.style.width = Math.round(run.percent) + "%";
            bar.parentNode.setAttribute("aria-valuenow", Math.round(run.percent));
            card.querySelector('[data-field="eta"]').textContent =
              run.status === "running" && run.eta_seconds ? "about " + Math.round(run.eta_seconds) + " s left" : "";
            renderLog(card.querySelector('[data-field="log"]'), run.log || []);
            if (run.status === "running") card.querySelector("details.log").open = true;
            if (run.status === "queued" || run.status === "running") unfinished = true;
            else if (wasUnfinished) finishedNow = true;
          });
          // A run that just finished wrote a version (or failed): the page's tables change, so load it again.
          if (finishedNow) window.location.reload();
          else if (unfinished) setTimeout(tick, interval);
        })
        .catch(function () { setTimeout(tick, interval * 3); });
    }
    setTimeout(tick, interval);
  }
  document.querySelectorAll("[data-runs-url][data-poll]").forEach(pollRuns);

  // Canned answers: show what customers will read, placeholders filled in by the server.
  var settingsForm = document.querySelector("form[data-canned-preview-url]");
  if (settingsForm) {
    var placeholders = settingsForm.querySelector("[name=placeholders]");
    var timers = new WeakMap();
    var previewOne = function (box) {
      var text = box.querySelector("textarea");
      var out = box.querySelector("[data-canned-preview]");
      if (!text.value.trim()) { out.textContent = ""; return; }
      var data = new FormData();
      data.append("text", text.value);
      data.append("placeholders", placeholders ? placeholders.value : "");
      fetch(settingsForm.getAttribute("data-canned-preview-url"), {
        method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(settingsForm) },
      }).then(function (response) { return response.text(); }).then(function (html) { out.innerHTML = html; });
    };
    var boxes = settingsForm.querySelectorAll(".canned");
    boxes.forEach(function (box) {
      if (/\{\{/.test(box.querySelector("textarea").value)) previewOne(box);
      box.querySelector("textarea").addEventListener("input", function () {
        clearTimeout(timers.get(box));
        timers.set(box, setTimeout(function () { previewOne(box); }, 300));
      });
    });
    if (placeholders) placeholders.addEventListener("change", function () { boxes.forEach(previewOne); });
  }
})();
