/* The designer's properties panel: a small hand-written panel for what HazardLoop needs.

   Every edit goes through the modeler's command stack (modeling.updateProperties,
   updateModdleProperties, updateLabel, moveElements, bpmnReplace), so Ctrl+Z undoes it like any
   other change. Extension elements are rebuilt as new moddle objects on every edit instead of being
   mutated in place, so that undo restores the previous objects untouched.

   Values from the diagram are user data: they are only ever put into the page with textContent or
   as input values, never as HTML. */
(function () {
  "use strict";

  var SPIFF_PROPERTIES = "spiffworkflow:Properties";
  var TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];
  var USER_TASKS = ["bpmn:UserTask", "bpmn:ManualTask"];
  var TIMER_CAPABLE = ["bpmn:IntermediateCatchEvent", "bpmn:BoundaryEvent", "bpmn:StartEvent"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "value") node.value = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (key in node && typeof attrs[key] !== "string") node[key] = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function HLPanel(modeler, container, options, t) {
    this.modeler = modeler;
    this.container = container;
    this.options = options || { forms: [], lanes: [] };
    this.t = t;
    this.element = null;
    this.editing = false;
    var self = this;
    var eventBus = modeler.get("eventBus");
    eventBus.on("selection.changed", function (e) {
      var selected = e.newSelection || [];
      self.show(selected.length === 1 ? selected[0] : null);
    });
    eventBus.on(["elements.changed"], function (e) {
      if (self.editing || !self.element) return;
      var touched = (e.elements || []).some(function (x) { return x === self.element || x.id === self.element.id; });
      if (touched) self.show(modeler.get("elementRegistry").get(self.element.id) || null);
    });
  }

  HLPanel.prototype.service = function (name) { return this.modeler.get(name); };

  HLPanel.prototype.label = function (key) { return this.t[key] || key; };

  /* Run an edit without re-rendering the panel under the user's cursor. */
  HLPanel.prototype.apply = function (fn) {
    this.editing = true;
    try { fn(); } finally { this.editing = false; }
  };

  HLPanel.prototype.field = function (labelKey, input, help) {
    var id = "hl-p-" + labelKey + "-" + Math.random().toString(36).slice(2, 7);
    input.id = input.id || id;
    return el("div", { className: "mb-2" }, [
      el("label", { className: "form-label", "for": input.id, text: this.label(labelKey) }),
      input,
      help ? el("div", { className: "form-text", text: help }) : null
    ]);
  };

  HLPanel.prototype.textInput = function (value, onChange, opts) {
    opts = opts || {};
    var input = el(opts.multiline ? "textarea" : "input", {
      className: "form-control form-control-sm" + (opts.code ? " hl-code" : ""), value: value || ""
    });
    if (opts.multiline) input.rows = opts.rows || 3;
    if (opts.name) input.setAttribute("data-prop", opts.name);
    if (opts.list) input.setAttribute("list", opts.list);
    input.addEventListener("change", function () { onChange(input.value); });
    return input;
  };

  HLPanel.prototype.select = function (choices, value, onChange, name) {
    var select = el("select", { className: "form-select form-select-sm" });
    if (name) select.setAttribute("data-prop", name);
    choices.forEach(function (c) {
      var option = el("option", { value: c.value, text: c.label });
      if (c.value === value) option.selected = true;
      select.appendChild(option);
    });
    select.addEventListener("change", function () { onChange(select.value); });
    return select;
  };

  // ------------------------------------------------------------------------------- spiffworkflow properties
  HLPanel.prototype.properties = function (bo) {
    var out = {};
    var ext = bo.extensionElements;
    (ext && ext.values || []).forEach(function (v) {
      if (v.$type === SPIFF_PROPERTIES) {
        (v.properties || []).forEach(function (p) { out[p.name] = p.value; });
      }
    });
    return out;
  };

  /* Replace the spiffworkflow properties of `target` (the element's own business object unless given, e.g.
     the process a pool stands for) with `props` (an ordered list of [name, value]). */
  HLPanel.prototype.setProperties = function (element, props, target) {
    var moddle = this.service("moddle");
    var bo = target || element.businessObject;
    var old = bo.extensionElements;
    var others = (old && old.values || []).filter(function (v) { return v.$type !== SPIFF_PROPERTIES; });
    var values = others.slice();
    var kept = props.filter(function (p) { return p[0] && p[1] !== ""; });
    if (kept.length) {
      values.push(moddle.create(SPIFF_PROPERTIES, {
        properties: kept.map(function (p) { return moddle.create("spiffworkflow:Property", { name: p[0], value: p[1] }); })
      }));
    }
    var ext = values.length ? moddle.create("bpmn:ExtensionElements", { values: values }) : undefined;
    if (bo === element.businessObject) {
      this.service("modeling").updateProperties(element, { extensionElements: ext });
    } else {
      this.service("modeling").updateModdleProperties(element, bo, { extensionElements: ext });
    }
  };

  HLPanel.prototype.setProperty = function (element, name, value, target) {
    var current = this.properties(target || element.businessObject);
    var list = Object.keys(current).map(function (k) { return [k, current[k]]; });
    var found = list.some(function (p) { if (p[0] === name) { p[1] = value; return true; } return false; });
    if (!found) list.push([name, value]);
    this.setProperties(element, list, target);
  };

  /* The process whose settings a pool (or the diagram's root, without pools) stands for. */
  function processOf(bo) {
    if (is(bo, "bpmn:Participant")) return bo.processRef || null;
    if (is(bo, "bpmn:Process")) return bo;
    return null;
  }

  // The reminder/escalation ladder of every deadline timer of the process, with the server's defaults
  // (app/services/deadlines.py LADDER_DEFAULTS); a timer event can override each with its own property.
  var LADDER = [["remindDaysBefore", "3,1"], ["remindNotify", "officer"], ["overdueNotify", "officer,principal"],
                ["escalateInspectorAfterDays", "3"], ["escalateBureauHeadAfterDays", "7"]];

  HLPanel.prototype.renderProcess = function (element, body, process) {
    var self = this;
    var props = this.properties(process);
    var section = el("section", { className: "mt-3", id: "hl-process-settings" });
    section.appendChild(el("h3", { className: "h6", text: this.label("deadline_settings") }));
    section.appendChild(el("p", { className: "form-text mt-0", text: this.label("deadline_settings_help") }));
    LADDER.forEach(function (pair) {
      var input = self.textInput(props[pair[0]], function (v) {
        self.apply(function () { self.setProperty(element, pair[0], v.trim(), process); });
      }, { name: pair[0] });
      input.placeholder = pair[1];
      section.appendChild(self.field(pair[0], input));
    });
    body.appendChild(section);
  };

  // ----------------------------------------------------------------------------------------------- lanes
  HLPanel.prototype.lanes = function () {
    return this.service("elementRegistry").filter(function (e) { return e.type === "bpmn:Lane"; });
  };

  HLPanel.prototype.laneOf = function (element) {
    var bo = element.businessObject;
    var lanes = this.lanes().filter(function (lane) {
      return (lane.businessObject.flowNodeRef || []).indexOf(bo) !== -1;
    });
    return lanes.length ? lanes[lanes.length - 1] : null;
  };

  HLPanel.prototype.roleOfLane = function (name) {
    var match = (this.options.lanes || []).filter(function (l) { return l.name === (name || "").trim(); });
    return match.length ? match[0].role : null;
  };

  /* Lane membership follows position in bpmn-js, so "put it in lane X" means moving it there. */
  HLPanel.prototype.moveToLane = function (element, lane) {
    var centre = element.y + element.height / 2;
    var target = lane.y + lane.height / 2;
    var dx = 0;
    if (element.x < lane.x + 40) dx = lane.x + 60 - element.x;
    this.service("modeling").moveElements([element], { x: dx, y: Math.round(target - centre) });
  };

  // ---------------------------------------------------------------------------------------------- render
  HLPanel.prototype.show = function (element) {
    this.element = element;
    var body = this.container;
    body.textContent = "";
    body.removeAttribute("data-element");
    if (!element) {
      body.appendChild(el("p", { className: "small text-secondary", text: this.t.select_hint || "" }));
      return;
    }
    var bo = element.businessObject;
    var self = this;
    body.setAttribute("data-element", element.id);
    body.appendChild(el("div", { className: "small text-secondary mb-2" }, [
      el("span", { className: "badge text-bg-light border me-1", text: (element.type || "").replace("bpmn:", "") }),
      el("span", { className: "font-monospace", id: "hl-panel-id", text: element.id })
    ]));

    if (element.type !== "label") {
      body.appendChild(this.field("name", this.textInput(bo.name, function (v) {
        self.apply(function () { self.service("modeling").updateLabel(element, v); });
      }, { name: "name" })));
    }

    if (USER_TASKS.indexOf(element.type) !== -1) this.renderUserTask(element, body);
    if (element.type === "bpmn:Lane") this.renderLane(element, body);
    if (element.type === "bpmn:SequenceFlow") this.renderFlow(element, body);
    if (element.type === "bpmn:ScriptTask") this.renderScript(element, body);
    if (TIMER_CAPABLE.indexOf(element.type) !== -1) this.renderTimer(element, body);

    if (is(bo, "bpmn:FlowElement") || is(bo, "bpmn:Process") || is(bo, "bpmn:Participant")) {
      var docs = (bo.documentation || []).map(function (d) { return d.text; }).join("\n");
      body.appendChild(this.field("documentation", this.textInput(docs, function (v) {
        self.apply(function () {
          var moddle = self.service("moddle");
          var list = v.trim() ? [moddle.create("bpmn:Documentation", { text: v })] : [];
          self.service("modeling").updateProperties(element, { documentation: list });
        });
      }, { multiline: true, rows: 3, name: "documentation" })));
    }
    if (is(bo, "bpmn:FlowNode")) this.renderOtherProperties(element, body);
    var process = processOf(bo);
    if (process) this.renderProcess(element, body, process);
  };

  HLPanel.prototype.renderUserTask = function (element, body) {
    var self = this;
    var props = this.properties(element.businessObject);
    var choices = [{ value: "", label: this.label("no_form") }].concat((this.options.forms || []).map(function (f) {
      var title = f.title && (f.title[document.documentElement.lang === "en" ? "en" : "zh"] || f.title.en) || "";
      return { value: f.key, label: f.key + (title ? " · " + title : "") };
    }));
    if (props.formKey && !choices.some(function (c) { return c.value === props.formKey; })) {
      choices.push({ value: props.formKey, label: props.formKey + " (?)" });
    }
    body.appendChild(this.field("form", this.select(choices, props.formKey || "", function (v) {
      self.apply(function () { self.setProperty(element, "formKey", v); });
    }, "formKey")));
    body.appendChild(this.field("status", this.textInput(props.status, function (v) {
      self.apply(function () { self.setProperty(element, "status", v.trim()); });
    }, { name: "status" })));

    var lanes = this.lanes();
    var current = this.laneOf(element);
    var laneChoices = [{ value: "", label: this.label("no_lane") }].concat(lanes.map(function (lane) {
      var name = lane.businessObject.name || lane.id;
      var role = self.roleOfLane(lane.businessObject.name);
      return { value: lane.id, label: name + (role ? "" : " ⚠") };
    }));
    body.appendChild(this.field("lane", this.select(laneChoices, current ? current.id : "", function (v) {
      var lane = self.service("elementRegistry").get(v);
      if (lane) self.moveToLane(element, lane);
    }, "lane")));
  };

  HLPanel.prototype.renderLane = function (element, body) {
    var self = this;
    var role = this.roleOfLane(element.businessObject.name);
    var names = (this.options.lanes || []).map(function (l) { return { value: l.name, label: l.name + " → " + l.role }; });
    var choices = [{ value: "", label: "—" }].concat(names);
    var name = (element.businessObject.name || "").trim();
    if (name && !role) choices.push({ value: name, label: name + " ⚠" });
    body.appendChild(this.field("lane_name", this.select(choices, name, function (v) {
      self.apply(function () { self.service("modeling").updateLabel(element, v); });
      self.show(element);
    }, "laneName"), role ? this.label("role") + ": " + role : this.label("lane_unknown")));
  };

  HLPanel.prototype.renderFlow = function (element, body) {
    var self = this;
    var bo = element.businessObject;
    var condition = bo.conditionExpression ? bo.conditionExpression.body : "";
    body.appendChild(this.field("condition", this.textInput(condition, function (v) {
      self.apply(function () {
        var value = v.trim();
        var expression = value ? self.service("moddle").create("bpmn:FormalExpression", { body: value }) : undefined;
        self.service("modeling").updateProperties(element, { conditionExpression: expression });
      });
    }, { multiline: true, rows: 2, code: true, name: "condition" }), this.label("condition_help")));
    var source = element.source;
    if (source && (source.type === "bpmn:ExclusiveGateway" || source.type === "bpmn:InclusiveGateway")) {
      var box = el("input", { type: "checkbox", className: "form-check-input" });
      box.checked = source.businessObject.default === bo;
      box.setAttribute("data-prop", "default");
      box.addEventListener("change", function () {
        self.apply(function () {
          self.service("modeling").updateProperties(source, { "default": box.checked ? bo : undefined });
        });
      });
      box.id = "hl-p-default-" + element.id;
      body.appendChild(el("div", { className: "form-check mb-2" }, [
        box, el("label", { className: "form-check-label small", "for": box.id, text: this.label("default_flow") })
      ]));
    }
  };

  HLPanel.prototype.renderScript = function (element, body) {
    var self = this;
    body.appendChild(this.field("script", this.textInput(element.businessObject.script, function (v) {
      self.apply(function () {
        self.service("modeling").updateProperties(element, { scriptFormat: "python", script: v });
      });
    }, { multiline: true, rows: 6, code: true, name: "script" })));
  };

  HLPanel.prototype.renderTimer = function (element, body) {
    var self = this;
    var bo = element.businessObject;
    var timer = (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0];
    body.appendChild(el("h3", { className: "h6 mt-3", text: this.label("timer") }));
    if (!timer) {
      if ((bo.eventDefinitions || []).length) return;  // a message or signal event: not ours to change
      var make = el("button", { type: "button", className: "btn btn-sm btn-outline-secondary mb-2",
                                text: this.label("make_timer") });
      make.setAttribute("data-action", "make-timer");
      make.addEventListener("click", function () {
        var replaced = self.service("bpmnReplace").replaceElement(element, {
          type: element.type, eventDefinitionType: "bpmn:TimerEventDefinition",
          cancelActivity: element.type === "bpmn:BoundaryEvent" ? bo.cancelActivity !== false : undefined
        });
        self.service("selection").select(replaced);
      });
      body.appendChild(make);
      return;
    }
    var kind = TIMER_KINDS.filter(function (k) { return timer[k]; })[0] || "timeDuration";
    var expression = timer[kind] ? timer[kind].body : "";
    var kindSelect = this.select(TIMER_KINDS.map(function (k) { return { value: k, label: self.label(k) }; }), kind,
      function (v) { update(v, exprInput.value); }, "timerKind");
    var exprInput = this.textInput(expression, function (v) { update(kindSelect.value, v); },
      { code: true, name: "timerExpression" });
    function update(newKind, value) {
      self.apply(function () {
        var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
        props[newKind] = self.service("moddle").create("bpmn:FormalExpression", { body: value.trim() });
        self.service("modeling").updateModdleProperties(element, timer, props);
      });
    }
    body.appendChild(this.field("timer_kind", kindSelect));
    body.appendChild(this.field("timer_expression", exprInput, this.label("timer_help")));
    if (element.type === "bpmn:BoundaryEvent") {
      var box = el("input", { type: "checkbox", className: "form-check-input", id: "hl-p-interrupting" });
      box.checked = bo.cancelActivity !== false;
      box.addEventListener("change", function () {
        self.apply(function () { self.service("modeling").updateProperties(element, { cancelActivity: box.checked }); });
      });
      body.appendChild(el("div", { className: "form-check mb-2" }, [
        box, el("label", { className: "form-check-label small", "for": box.id, text: this.label("interrupting") })
      ]));
    }
  };

  /* Every other spiffworkflow property (timer reminders, escalations, ...) as editable name/value rows. */
  HLPanel.prototype.renderOtherProperties = function (element, body) {
    var self = this;
    var props = this.properties(element.businessObject);
    var dedicated = USER_TASKS.indexOf(element.type) !== -1 ? ["formKey", "status"] : [];
    var rows = Object.keys(props).filter(function (k) { return dedicated.indexOf(k) === -1; })
      .map(function (k) { return [k, props[k]]; });
    var list = el("div", { className: "d-flex flex-column gap-1 mb-2" });
    function save() {
      var all = Object.keys(props).filter(function (k) { return dedicated.indexOf(k) !== -1; })
        .map(function (k) { return [k, props[k]]; }).concat(rows);
      self.apply(function () { self.setProperties(element, all); });
    }
    rows.forEach(function (row, index) {
      var name = self.textInput(row[0], function (v) { row[0] = v.trim(); save(); });
      var value = self.textInput(row[1], function (v) { row[1] = v; save(); });
      name.setAttribute("aria-label", self.label("property_name"));
      value.setAttribute("aria-label", self.label("property_value"));
      var remove = el("button", { type: "button", className: "btn btn-sm btn-outline-danger", text: "×",
                                  title: self.label("remove") });
      remove.addEventListener("click", function () { rows.splice(index, 1); save(); self.show(element); });
      list.appendChild(el("div", { className: "input-group input-group-sm" }, [name, value, remove]));
    });
    var add = el("button", { type: "button", className: "btn btn-sm btn-link p-0", text: "+ " + this.label("add_property") });
    add.addEventListener("click", function () {
      rows.push(["", ""]);
      var name = self.textInput("", function (v) { rows[rows.length - 1][0] = v.trim(); save(); });
      var value = self.textInput("", function (v) { rows[rows.length - 1][1] = v; save(); });
      list.appendChild(el("div", { className: "input-group input-group-sm" }, [name, value]));
      name.focus();
    });
    body.appendChild(el("details", { className: "mt-2" }, [
      el("summary", { className: "small fw-semibold", text: this.label("properties") + " (" + rows.length + ")" }),
      list, add
    ]));
  };

  window.HLPanel = HLPanel;
})();
