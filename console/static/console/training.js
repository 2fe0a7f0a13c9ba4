/* Training page: follow the unfinished run live through its status JSON; when it ends, say so in its card and
   load the page again (the versions table changed, and the page's message says how the run ended). */
(function () {
  "use strict";

  var card = document.querySelector("article.run[data-status-url]");
  if (!card) return;
  var url = card.getAttribute("data-status-url");
  var interval = Number(card.getAttribute("data-poll")) || 2000;

  function field(name) { return card.querySelector('[data-field="' + name + '"]'); }

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

  function show(run) {
    card.setAttribute("data-status", run.status);
    var badge = field("status");
    badge.className = "badge badge-" + run.status;
    badge.textContent = run.status_label;
    field("summary").textContent = run.summary;
    field("eta").textContent = run.eta;
    var bar = field("percent");
    bar.style.width = Math.round(run.finished ? 100 : run.percent) + "%";
    bar.parentNode.setAttribute("aria-valuenow", Math.round(run.percent));
    renderLog(field("log"), run.log || []);
    if (run.finished) {
      var notice = field("message");
      notice.textContent = run.message;
      notice.classList.toggle("warn", run.status === "failed");
      notice.hidden = false;
    }
  }

  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (run) {
        show(run);
        if (run.finished) setTimeout(function () { window.location.reload(); }, 1500);
        else setTimeout(tick, interval);
      })
      .catch(function () { setTimeout(tick, interval * 3); });
  }
  setTimeout(tick, interval);
})();
