/* Job page: while the job is queued or running, poll /api/v1/jobs/{id} every second, move the
 * progress bar, and reload the page (rendered in its language by the server) when the job's
 * status or steps change. No inline script, no CDN. */
(function () {
  "use strict";
  var card = document.getElementById("job");
  if (!card) return;
  var status = card.dataset.status;
  if (status === "done" || status === "failed") return;
  var url = "/api/v1/jobs/" + card.dataset.jobId;
  var bar = document.getElementById("job-progress");
  function state(job) {
    return job.status + ":" + job.steps.map(function (s) { return s.name + "=" + s.status; }).join(",");
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 5000); return; }
        if (bar) bar.value = job.progress;
        if (state(job) !== card.dataset.state) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
