/* The heatmap on a process version's diagram (issue 14): a switch fetches, per element, how many hazards wait there
   now, the median and 90th-percentile time spent there and the share past its deadline (heatmap.json), and shows
   them as bpmn-js overlays coloured by how many wait there relative to the busiest step. Each overlay, and a click
   on its element, leads to the list of the hazards waiting there. */
(function () {
  "use strict";
  var toggle = document.getElementById("hl-heatmap-toggle");
  var box = document.querySelector("[data-hl-viewer][data-heatmap-url]");
  if (!toggle || !box) return;
  var legend = document.getElementById("hl-heatmap-legend");
  var status = document.getElementById("hl-heatmap-status");
  var labels = JSON.parse(box.getAttribute("data-heatmap-labels") || "{}");
  var data = null;
  var links = {};

  function fill(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_m, name) { return values[name]; })
      .replace(/%%/g, "%");
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 86400) return fill(labels.hours, { n: (seconds / 3600).toFixed(1) });
    return fill(labels.days, { n: (seconds / 86400).toFixed(1) });
  }
  function bucket(now, most) {
    if (!now || !most) return 0;
    var share = now / most;
    return share > 2 / 3 ? 3 : (share > 1 / 3 ? 2 : 1);
  }

  function show(viewer) {
    var overlays = viewer.get("overlays");
    var registry = viewer.get("elementRegistry");
    overlays.remove({ type: "hl-heat" });
    links = {};
    var elements = data.elements || {};
    var most = 0;
    Object.keys(elements).forEach(function (id) { most = Math.max(most, elements[id].now); });
    var shown = 0;
    Object.keys(elements).forEach(function (id) {
      var element = registry.get(id);
      if (!element) return;
      var h = elements[id];
      var link = document.createElement("a");
      link.className = "hl-heat hl-heat-" + bucket(h.now, most);
      link.href = h.link;
      link.setAttribute("data-element", id);
      link.setAttribute("data-now", h.now);
      link.title = fill(labels.title, { step: h.title });
      var parts = [fill(labels.now, { n: h.now }), fill(labels.median, { t: duration(h.median_seconds) }),
                   fill(labels.p90, { t: duration(h.p90_seconds) })];
      if (h.overdue_share !== null) parts.push(fill(labels.overdue, { p: Math.round(h.overdue_share * 100) }));
      link.textContent = parts.join(" · ");
      overlays.add(id, "hl-heat", { position: { bottom: -4, left: 0 }, scale: { min: 1 }, html: link });
      links[id] = h.link;
      shown += 1;
    });
    box.setAttribute("data-heatmap", "shown");
    box.setAttribute("data-heatmap-count", String(shown));
    if (status) status.textContent = "";
  }

  function hide(viewer) {
    viewer.get("overlays").remove({ type: "hl-heat" });
    links = {};
    box.setAttribute("data-heatmap", "hidden");
  }

  function apply() {
    var viewer = box.hlViewer;
    if (!viewer || box.getAttribute("data-state") !== "ready") return;  // applied when the diagram is ready
    if (legend) legend.hidden = !toggle.checked;
    if (!toggle.checked) { hide(viewer); return; }
    if (data) { show(viewer); return; }
    box.setAttribute("data-heatmap", "loading");
    fetch(box.getAttribute("data-heatmap-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (json) { data = json; if (toggle.checked) show(viewer); })
      .catch(function (error) {
        box.setAttribute("data-heatmap", "error");
        if (status) status.textContent = error.message;
      });
  }

  toggle.addEventListener("change", apply);
  box.addEventListener("hl-viewer-ready", function () {
    box.hlViewer.on("element.click", function (event) {
      if (toggle.checked && links[event.element.id]) window.location.href = links[event.element.id];
    });
    apply();
  });
})();
