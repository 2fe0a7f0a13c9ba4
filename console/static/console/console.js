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

  // A list with work under way (imports being read, webhook attempts awaiting their outcome): reload until it ends.
  var importsTable = document.querySelector("[data-reload-while-unfinished]");
  if (importsTable) {
    var reloadLater = function () {
      var busy = Array.prototype.some.call(document.querySelectorAll("input[type=file]"), function (input) { return input.files.length; });
      if (busy) setTimeout(reloadLater, 3000); else window.location.reload();
    };
    setTimeout(reloadLater, Number(importsTable.getAttribute("data-reload-while-unfinished")));
  }

  // Canned answers: show what customers will read, placeholders filled in by the server.
  var settingsForm = document.querySelector("form[data-canned-preview-url]");
  if (settingsForm) {
    var placeholders = settingsForm.querySelector("[name=placeholders]");
    var valueInputs = settingsForm.querySelectorAll("[data-placeholder-name]");
    var placeholderLines = function () {
      var lines = Array.prototype.filter.call(valueInputs, function (input) { return input.value.trim(); })
        .map(function (input) { return input.getAttribute("data-placeholder-name") + " = " + input.value.trim(); });
      if (placeholders && placeholders.value.trim()) lines.push(placeholders.value);
      return lines.join("\n");
    };
    var timers = new WeakMap();
    var previewOne = function (box) {
      var text = box.querySelector("textarea");
      var out = box.querySelector("[data-canned-preview]");
      if (!text.value.trim()) { out.textContent = ""; return; }
      var data = new FormData();
      data.append("text", text.value);
      data.append("placeholders", placeholderLines());
      fetch(settingsForm.getAttribute("data-canned-preview-url"), {
        method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(settingsForm) },
      }).then(function (response) { return response.text(); }).then(function (html) { out.innerHTML = html; });
    };
    var boxes = settingsForm.querySelectorAll(".canned");
    boxes.forEach(function (box) {
      var text = box.querySelector("textarea");
      var useDraft = box.querySelector("[data-use-draft] input");
      if (/\{\{|\[[A-Z]+\]/.test(text.value)) previewOne(box);
      text.addEventListener("input", function () {
        if (useDraft) useDraft.checked = true;  // an edited draft is the tenant's answer once saved
        clearTimeout(timers.get(box));
        timers.set(box, setTimeout(function () { previewOne(box); }, 300));
      });
    });
    var previewAll = function () { boxes.forEach(function (box) { if (box.querySelector("textarea").value.trim()) previewOne(box); }); };
    if (placeholders) placeholders.addEventListener("change", previewAll);
    valueInputs.forEach(function (input) { input.addEventListener("change", previewAll); });

    // Answer more <-> hand off more: say what the position under the thumb does and mark it on the curve, as it moves.
    var handoff = settingsForm.querySelector("#id_unknown_handoff");
    var wordsData = document.getElementById("operating-point-words-by-setting");
    var words = document.getElementById("operating-point-words");
    var mark = settingsForm.querySelector('#answers [data-series="current"]');
    if (handoff && wordsData && words) {
      var bySetting = JSON.parse(wordsData.textContent);
      var marked = mark ? JSON.parse(mark.getAttribute("data-at-setting") || "{}") : {};
      handoff.addEventListener("input", function () {
        var setting = Number(handoff.value).toFixed(2);
        var said = bySetting[setting];
        if (said) words.textContent = said;
        if (marked[setting]) {
          var at = marked[setting].split(",");
          mark.setAttribute("cx", at[0]);
          mark.setAttribute("cy", at[1]);
          if (said) mark.querySelector("title").textContent = said;
        }
      });
    }

    // Canned answers: the search box shows the intents whose name or answer holds every word typed.
    var search = settingsForm.querySelector("#canned-search");
    var summary = settingsForm.querySelector("#canned-summary");
    var none = settingsForm.querySelector("#canned-none");
    if (search) {
      var initialSummary = summary.textContent;
      search.addEventListener("input", function () {
        var words = search.value.toLowerCase().replace(/_/g, " ").split(/\s+/).filter(Boolean);
        var shown = 0;
        boxes.forEach(function (box) {
          var haystack = (box.getAttribute("data-intent") + " " + box.querySelector("textarea").value).toLowerCase().replace(/_/g, " ");
          var match = words.every(function (word) { return haystack.indexOf(word) !== -1; });
          box.hidden = !match;
          if (match) shown += 1;
        });
        settingsForm.querySelectorAll(".canned-group").forEach(function (heading) {
          var next = heading.nextElementSibling, any = false;
          while (next && !next.classList.contains("canned-group")) { if (!next.hidden) any = true; next = next.nextElementSibling; }
          heading.hidden = !any;
        });
        none.hidden = shown > 0;
        summary.textContent = words.length ? shown + " of " + summary.getAttribute("data-total") + " intents match." : initialSummary;
      });
    }
  }
})();
