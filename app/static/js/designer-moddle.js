/* The spiffworkflow moddle extension for bpmn-js: the parts of SpiffWorkflow's BPMN extension that
   HazardLoop uses (properties such as formKey/status, pre- and post-scripts), so the modeler reads and
   writes <spiffworkflow:properties> instead of dropping or mangling them. */
(function () {
  "use strict";
  window.HL_SPIFFWORKFLOW_MODDLE = {
    name: "SpiffWorkflow",
    prefix: "spiffworkflow",
    uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [
      {
        name: "Properties",
        superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }]
      },
      {
        name: "Property",
        superClass: ["Element"],
        properties: [
          { name: "name", type: "String", isAttr: true },
          { name: "value", type: "String", isAttr: true }
        ]
      },
      {
        name: "PreScript",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      },
      {
        name: "PostScript",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      },
      // Not used by HazardLoop, but declared so that a diagram imported from SpiffArena keeps them.
      {
        name: "InstructionsForEndUser",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      },
      {
        name: "CalledDecisionId",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      },
      {
        name: "MessagePayload",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      },
      {
        name: "MessageVariable",
        superClass: ["Element"],
        properties: [{ name: "value", type: "String", isBody: true }]
      }
    ]
  };
})();
