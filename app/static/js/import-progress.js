// The import job's page: polls the job's progress and moves the bar; when the job ends, shows its answer.
(function () {
  "use strict";
  var card = document.getElementById("import-progress-card");
  if (!card || !card.dataset.statusUrl) { return; }
  var bar = document.getElementById("import-progress-bar");
  var meter = document.getElementById("import-progress");
  var count = document.getElementById("import-progress-count");
  var number = new Intl.NumberFormat();

  function show(job) {
    bar.style.width = job.percent + "%";
    bar.textContent = job.percent + "%";
    meter.setAttribute("aria-valuenow", job.percent);
    count.textContent = number.format(job.processed) + (job.total ? " / " + number.format(job.total) : "");
  }

  function poll() {
    fetch(card.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 3000); return; }
        show(job);
        if (job.finished) { window.location.reload(); } else { window.setTimeout(poll, 800); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 300);
}());
