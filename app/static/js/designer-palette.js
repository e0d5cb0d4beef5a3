/* Modeler additions for HazardLoop, as bpmn-js modules (passed in `additionalModules`):

   - a "user task" palette entry next to bpmn-js's plain task: a step someone does. Dropping it fires
     `hl.userTask.created` so that the page asks for its name, lane (who does it) and form;
   - tooltips on the palette and the context pad (bpmn-js 18 gives their entries an aria-label only);
   - inserting a step on a flow makes room: bpmn-js's own drop-on-flow behaviour splits the flow, and the
     elements after the drop point move right by the new step's width (the space tool's own command), so the
     new step does not sit on top of the next one. */
(function () {
  "use strict";

  function HLPalette(palette, create, elementFactory, translate) {
    palette.registerProvider(500, this);
    this.getPaletteEntries = function () {
      return function (entries) {
        var out = {};
        Object.keys(entries).forEach(function (key) {
          out[key] = entries[key];
          if (key !== "create.task") return;
          out["create.user-task"] = {
            group: "activity",
            className: "bpmn-icon-user-task",
            title: translate("Create user task"),
            action: {
              dragstart: start,
              click: start
            }
          };
        });
        return out;
      };
    };
    function start(event) {
      var shape = elementFactory.createShape({ type: "bpmn:UserTask" });
      create.start(event, shape, { hints: { hlAskUserTask: true } });
    }
  }
  HLPalette.$inject = ["palette", "create", "elementFactory", "translate"];

  /* After a user task from our palette entry is dropped (and bpmn-js opened its label editor), ask instead. */
  function HLUserTaskPrompt(eventBus, directEditing) {
    eventBus.on("create.end", 250, function (event) {
      var context = event.context || {};
      var hints = context.hints || {};
      var shape = context.shape || (context.elements || [])[0];
      if (!hints.hlAskUserTask || !shape) return;
      setTimeout(function () {
        if (directEditing.isActive()) directEditing.cancel();
        eventBus.fire("hl.userTask.created", { element: shape });
      }, 0);
    });
  }
  HLUserTaskPrompt.$inject = ["eventBus", "directEditing"];

  /* Tooltips: copy each entry's label into `title` whenever the palette or the context pad is drawn. */
  function HLTooltips(eventBus, canvas) {
    function titles() {
      var container = canvas.getContainer();
      container.querySelectorAll(".djs-palette .entry[aria-label], .djs-context-pad .entry[aria-label]")
        .forEach(function (entry) {
          if (!entry.title) entry.title = entry.getAttribute("aria-label");
        });
    }
    eventBus.on(["palette.changed", "contextPad.open", "import.done"], 100, function () { setTimeout(titles, 0); });
  }
  HLTooltips.$inject = ["eventBus", "canvas"];

  /* Dropping a shape on a flow: bpmn-js splits the flow (DropOnFlowBehavior); then make room to the right. */
  function HLMakeRoom(eventBus, elementRegistry, modeling) {
    var GAP = 40;
    // After DropOnFlowBehavior (priority 1000) has split the flow around the new shape.
    eventBus.on("commandStack.shape.create.postExecuted", 500, function (event) {
      var context = event.context;
      var shape = context.shape;
      if (!shape || shape.waypoints || !context.targetFlow || shape.type === "label") return;
      var middle = shape.x + shape.width / 2;
      var after = elementRegistry.filter(function (e) {
        return e !== shape && !e.waypoints && e.type !== "label" && e.type !== "bpmn:Lane" && e.parent === shape.parent && !e.host &&
          e.x + (e.width || 0) / 2 > middle && e.y + (e.height || 0) > shape.y - 200 &&
          e.y < shape.y + shape.height + 200;
      });
      // The new step clears the step before it, and the steps after it clear the new step.
      var before = context.targetFlow.source;
      var own = before && !before.waypoints ? Math.max(0, before.x + before.width + GAP - shape.x) : 0;
      var next = after.length ? Math.min.apply(null, after.map(function (e) { return e.x; })) : Infinity;
      var rest = Math.max(own, shape.x + own + shape.width + GAP - next);
      if (rest > 0 && after.length) modeling.moveElements(after, { x: rest, y: 0 });
      if (own > 0) modeling.moveElements([shape], { x: own, y: 0 });
    });
  }
  HLMakeRoom.$inject = ["eventBus", "elementRegistry", "modeling"];

  window.HL_MODELER_MODULES = [{
    __init__: ["hlPalette", "hlUserTaskPrompt", "hlTooltips", "hlMakeRoom"],
    hlPalette: ["type", HLPalette],
    hlUserTaskPrompt: ["type", HLUserTaskPrompt],
    hlTooltips: ["type", HLTooltips],
    hlMakeRoom: ["type", HLMakeRoom]
  }];
})();
