/* Read-only diagrams on the version and diff pages (bpmn-js NavigatedViewer), with added/changed/removed
   elements marked from the data-* attributes the page sets. */
(function () {
  "use strict";
  if (typeof BpmnJS === "undefined") return;
  Array.prototype.forEach.call(document.querySelectorAll("[data-hl-viewer]"), function (box) {
    var viewer = new BpmnJS({ container: box });
    box.hlViewer = viewer;  // for the heatmap (designer-heatmap.js)
    fetch(box.getAttribute("data-xml-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        ["added", "changed", "removed"].forEach(function (kind) {
          JSON.parse(box.getAttribute("data-" + kind) || "[]").forEach(function (id) {
            if (registry.get(id)) canvas.addMarker(id, "hl-" + kind);
          });
        });
        canvas.zoom("fit-viewport", "auto");
        box.setAttribute("data-state", "ready");
        box.dispatchEvent(new CustomEvent("hl-viewer-ready"));
      })
      .catch(function (error) {
        box.setAttribute("data-state", "error");
        box.textContent = error.message;
      });
  });
})();
