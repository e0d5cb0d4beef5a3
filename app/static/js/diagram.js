/* The hazard's process diagram (bpmn-js NavigatedViewer) with done steps and the current step marked. */
(function () {
  "use strict";
  var box = document.getElementById("hl-diagram");
  if (!box || typeof BpmnJS === "undefined") return;
  var viewer = new BpmnJS({ container: box.querySelector(".hl-diagram-canvas") });
  var done = JSON.parse(box.getAttribute("data-done") || "[]");
  var current = JSON.parse(box.getAttribute("data-current") || "[]");

  function fail() {
    box.querySelector(".hl-diagram-error").hidden = false;
    box.setAttribute("data-state", "error");
  }

  fetch(box.getAttribute("data-xml-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      done.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "hl-done"); });
      current.forEach(function (id) {
        if (!registry.get(id)) return;
        canvas.removeMarker(id, "hl-done");  // a step done before and open again (sent back) is current
        canvas.addMarker(id, "hl-current");
      });
      canvas.zoom("fit-viewport", "auto");
      // On a phone the whole diagram is too small to read: show the current step, readable, in the middle.
      var focus = current.map(function (id) { return registry.get(id); }).filter(Boolean)[0];
      if (focus && box.clientWidth < 576) {
        var outer = canvas.viewbox().outer;
        var scale = 0.75;
        var width = outer.width / scale, height = outer.height / scale;
        canvas.viewbox({ x: focus.x + focus.width / 2 - width / 2, y: focus.y + focus.height / 2 - height / 2,
                         width: width, height: height });
      }
      box.setAttribute("data-state", "ready");
    })
    .catch(fail);
})();
