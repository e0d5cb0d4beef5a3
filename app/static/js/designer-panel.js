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
  var NEW_FORM = "__new__";

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
      var current = modeler.get("elementRegistry").get(self.element.id) || null;
      // Re-render only when what the panel shows changed: rebuilding it removes the input being typed in
      // (after a drop, the label editor's no-op update on losing focus did exactly that: the "lost name" bug).
      if (touched && (!current || self.signature(current) !== self.shown)) self.show(current);
    });
    // The label editor on the canvas (opened after a drop) finishes before the panel takes the pointer, and
    // its update does not re-render the panel: the click lands in the input the user sees.
    container.addEventListener("pointerdown", function () {
      var directEditing = modeler.get("directEditing");
      if (!directEditing.isActive()) return;
      self.apply(function () { directEditing.complete(); });
      var name = container.querySelector('[data-prop="name"]');
      if (name && self.element) name.value = self.element.businessObject.name || "";
      self.shown = self.element ? self.signature(self.element) : null;
    }, true);
  }

  /* What the panel shows of an element, to tell a change that matters from a no-op update. */
  HLPanel.prototype.signature = function (element) {
    var bo = element.businessObject || {};
    var lane = element.type === "bpmn:Lane" ? null : this.laneOf(element);
    var timer = (bo.eventDefinitions || []).map(function (d) {
      return [d.$type, (d.timeDate || d.timeDuration || d.timeCycle || {}).body];
    });
    var process = processOf(bo);
    return JSON.stringify([element.type, bo.name || "", this.properties(bo), process ? this.properties(process) : null,
      bo.conditionExpression ? bo.conditionExpression.body : null, (bo.documentation || []).map(function (d) {
        return d.text;
      }), lane ? lane.id : null, timer, bo.cancelActivity, bo.script || null,
      element.source && element.source.businessObject["default"] === bo]);
  };

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
    this.shown = element ? this.signature(element) : null;
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
    if (element.type === "bpmn:EndEvent") {
      var endField = this.field("end_status", this.statusSelect(element, this.properties(bo).status, true),
                                this.label("end_status_help"));
      endField.querySelector("label").setAttribute("for", "hl-p-status-" + element.id);
      body.appendChild(endField);
    }
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
    choices.push({ value: NEW_FORM, label: this.label("new_form") });
    var formSelect = this.select(choices, props.formKey || "", function (v) {
      if (v === NEW_FORM) {
        formSelect.value = props.formKey || "";
        self.newForm(element);
        return;
      }
      self.apply(function () { self.setProperty(element, "formKey", v); });
    }, "formKey");
    var formField = this.field("form", formSelect);
    if (props.formKey && this.options.form_url) {
      formField.appendChild(el("a", { className: "small", href: this.options.form_url.replace("__key__", props.formKey),
                                      target: "_blank", rel: "noopener", text: this.label("open_form") }));
    }
    body.appendChild(formField);
    var statusField = this.field("status", this.statusSelect(element, props.status), this.label("status_help"));
    statusField.querySelector("label").setAttribute("for", "hl-p-status-" + element.id);
    body.appendChild(statusField);

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

    // Four-eyes: whoever did the chosen earlier step may not do this one (deploy checks the step exists).
    var earlier = this.earlierUserTasks(element);
    var fourEyes = [{ value: "", label: this.label("four_eyes_none") }].concat(earlier.map(function (t) {
      return { value: t.id, label: (t.businessObject.name || t.id) };
    }));
    var named = props.differentPersonFrom || "";
    if (named && !earlier.some(function (t) { return t.id === named; })) {
      fourEyes.push({ value: named, label: named + " (?)" });
    }
    body.appendChild(this.field("four_eyes", this.select(fourEyes, named, function (v) {
      self.apply(function () { self.setProperty(element, "differentPersonFrom", v); });
    }, "differentPersonFrom"), this.label("four_eyes_help")));
  };

  /* The user tasks a flow reaches before this element (walking incoming flows back), nearest first. */
  HLPanel.prototype.earlierUserTasks = function (element) {
    var seen = {}, found = [], queue = [element];
    seen[element.id] = true;
    while (queue.length) {
      var node = queue.shift();
      (node.incoming || []).forEach(function (flow) {
        var source = flow.source;
        if (!source || seen[source.id]) return;
        seen[source.id] = true;
        if (USER_TASKS.indexOf(source.type) !== -1) found.push(source);
        queue.push(source);
      });
      if (node.host) {  // a boundary event: the task it sits on came first
        if (!seen[node.host.id]) { seen[node.host.id] = true; queue.push(node.host); }
      }
    }
    return found;
  };

  /* The hazard status a step (or an end event: `end`) sets, from the status vocabulary (labels in the page's
     language); "New status…" adds one to the vocabulary (both labels) and chooses it. */
  HLPanel.prototype.statusSelect = function (element, current, end) {
    var self = this;
    var listName = end ? "end_statuses" : "statuses";
    var known = this.options[listName] || [];
    var choices = [{ value: "", label: this.label(end ? "no_end_status" : "no_status") }].concat(known.map(function (st) {
      return { value: st.value, label: st.label };
    }));
    if (current && !known.some(function (st) { return st.value === current; })) {
      choices.push({ value: current, label: current + " (?)" });
    }
    if (this.options.status_url) choices.push({ value: NEW_FORM, label: this.label("new_status") });
    var wrap = el("div");
    var adder = el("div", { className: "border rounded p-2 mt-1", hidden: true });
    adder.setAttribute("data-status-adder", "1");
    var select = this.select(choices, current || "", function (v) {
      if (v === NEW_FORM) { select.value = current || ""; adder.hidden = false; zh.focus(); return; }
      self.apply(function () { self.setProperty(element, "status", v); });
    }, "status");
    var zh = el("input", { className: "form-control form-control-sm mb-1", id: "hl-new-status-zh-" + element.id });
    var en = el("input", { className: "form-control form-control-sm mb-1", id: "hl-new-status-en-" + element.id });
    zh.setAttribute("data-new-status", "label_zh");
    en.setAttribute("data-new-status", "label_en");
    var problem = el("div", { className: "small text-danger" });
    problem.setAttribute("role", "alert");
    var add = el("button", { type: "button", className: "btn btn-sm btn-primary", text: this.label("new_status_add") });
    add.setAttribute("data-new-status", "add");
    add.addEventListener("click", function () {
      problem.textContent = "";
      fetch(self.options.status_url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": self.options.csrf },
        body: JSON.stringify({ label_zh: zh.value, label_en: en.value, final: !!end })
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          var fields = answer.body.fields || {};
          problem.textContent = Object.keys(fields).map(function (k) { return fields[k]; }).join(" ") ||
            answer.body.error || "";
          return;
        }
        self.options[listName].push(answer.body);
        self.apply(function () { self.setProperty(element, "status", answer.body.value); });
        self.show(element);
      });
    });
    adder.appendChild(el("label", { className: "form-label small mb-0", "for": zh.id, text: this.label("new_status_zh") }));
    adder.appendChild(zh);
    adder.appendChild(el("label", { className: "form-label small mb-0", "for": en.id, text: this.label("new_status_en") }));
    adder.appendChild(en);
    adder.appendChild(add);
    adder.appendChild(problem);
    select.id = "hl-p-status-" + element.id;
    wrap.appendChild(select);
    wrap.appendChild(adder);
    wrap.id = "hl-p-status-wrap-" + element.id;
    this._statusSelect = select;
    return wrap;
  };

  /* "New form" from the task panel: a starter form with a generated key is saved, chosen for the task and
     opened in the form editor in a new tab, so the diagram stays open here. */
  HLPanel.prototype.newForm = function (element) {
    var self = this;
    var stamp = new Date().toISOString().replace(/\D/g, "").slice(2, 12);
    var key = "form_" + stamp + "_" + Math.random().toString(16).slice(2, 6);
    var name = (element.businessObject.name || "").trim();
    var definition = {
      key: key,
      title: { zh: name || this.label("new_form_title"), en: name || this.label("new_form_title") },
      description: { zh: "", en: "" },
      schema: { type: "object", properties: { opinion: { type: "string", maxLength: 2000 } }, required: [],
                additionalProperties: false },
      fields: [{ name: "opinion", widget: "textarea", label: { zh: "意见", en: "Opinion" } }]
    };
    // Opened now, while the click still counts as the user's: a window opened after the request is blocked.
    var tab = window.open("", "_blank");
    return fetch(this.options.form_url.replace("__key__", key), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": this.options.csrf },
      body: JSON.stringify({ definition: definition, note: this.label("new_form_note") })
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (saved) {
      self.options.forms.push({ key: key, title: definition.title });
      self.apply(function () { self.setProperty(element, "formKey", key); });
      self.show(element);
      if (tab) tab.location.href = saved.url;
      self.container.setAttribute("data-new-form", key);
      return key;
    }).catch(function (error) {
      if (tab) tab.close();
      self.container.setAttribute("data-new-form", "failed");
      window.alert(self.label("new_form_failed") + " " + error.message);
    });
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
      this.renderConditionBuilder(element, body, condition);
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

  /* The forms filled in before a gateway: the user tasks found walking back along the flows, nearest first. */
  HLPanel.prototype.formsBefore = function (gateway) {
    var seen = {}, keys = [], queue = [gateway], self = this;
    while (queue.length) {
      var node = queue.shift();
      (node.incoming || []).forEach(function (flow) {
        var from = flow.source;
        if (!from || seen[from.id]) return;
        seen[from.id] = true;
        var key = USER_TASKS.indexOf(from.type) !== -1 ? self.properties(from.businessObject).formKey : null;
        if (key && keys.indexOf(key) === -1) keys.push(key);
        queue.push(from);
      });
    }
    return keys;
  };

  HLPanel.prototype.builderUrl = function (params) {
    var query = new URLSearchParams();
    Object.keys(params).forEach(function (name) {
      [].concat(params[name]).forEach(function (v) { if (v !== undefined && v !== null) query.append(name, v); });
    });
    return this.options.condition_url + "?" + query.toString();
  };

  HLPanel.prototype.getJSON = function (url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, data: data };
        });
      });
  };

  /* The condition builder: a field of the forms before the gateway, a comparison and a value; the server writes
     the expression (app/services/conditions.py) into the condition, which stays editable above. */
  HLPanel.prototype.renderConditionBuilder = function (element, body, condition) {
    if (!this.options.condition_url) return;
    var self = this;
    var forms = this.formsBefore(element.source);
    var box = el("fieldset", { className: "border rounded p-2 mb-2", id: "hl-condition-builder" });
    box.appendChild(el("legend", { className: "small fw-semibold float-none w-auto px-1 mb-1",
                                   text: this.label("builder") }));
    var note = el("div", { className: "form-text", text: this.label("builder_loading") });
    box.appendChild(note);
    body.appendChild(box);
    this.getJSON(this.builderUrl({ form: forms, expression: condition || "" })).then(function (result) {
      if (self.element !== element || !result.ok) {
        note.textContent = result.ok ? "" : (result.data.error || "");
        return;
      }
      var fields = result.data.fields || [];
      if (!fields.length) {
        note.textContent = self.label("builder_no_fields");
        return;
      }
      note.remove();
      var parsed = result.data.parsed || null;
      var fieldSelect = self.select(fields.map(function (f) {
        return { value: f.name, label: f.label + " · " + f.form_title };
      }), parsed ? parsed.field : fields[0].name, function () { refresh(); }, "builderField");
      var operatorHolder = el("div");
      var valueHolder = el("div");
      var error = el("div", { className: "text-danger small", role: "alert" });
      var use = el("button", { type: "button", className: "btn btn-sm btn-outline-primary", id: "hl-builder-use",
                               text: self.label("builder_use") });
      box.appendChild(self.field("builder_field", fieldSelect));
      box.appendChild(operatorHolder);
      box.appendChild(valueHolder);
      box.appendChild(error);
      box.appendChild(use);
      var operatorSelect, valueInput;

      function chosen() { return fields.filter(function (f) { return f.name === fieldSelect.value; })[0]; }

      function refresh(initial) {
        var f = chosen();
        var start = initial && parsed && parsed.field === f.name ? parsed : null;
        operatorHolder.textContent = "";
        valueHolder.textContent = "";
        operatorSelect = self.select(f.operators.map(function (op) {
          return { value: op, label: self.label("op_" + op) };
        }), start ? start.operator : f.operators[0], function () { values(); }, "builderOperator");
        operatorHolder.appendChild(self.field("builder_operator", operatorSelect));
        values(start ? start.values : []);
      }

      function values(initial) {
        var f = chosen();
        initial = initial || [];
        valueHolder.textContent = "";
        if (f.choices.length || f.kind === "boolean") {
          var choices = f.kind === "boolean" ? [{ value: "true", label: self.label("ticked") },
                                                 { value: "false", label: self.label("not_ticked") }] : f.choices;
          valueInput = el("select", { className: "form-select form-select-sm" });
          valueInput.multiple = operatorSelect.value === "one_of";
          choices.forEach(function (c) {
            var option = el("option", { value: c.value, text: c.label });
            option.selected = initial.indexOf(c.value) !== -1;
            valueInput.appendChild(option);
          });
        } else {
          valueInput = el("input", { className: "form-control form-control-sm",
                                     type: f.kind === "number" ? "number" : f.kind === "date" ? "date" : "text",
                                     value: initial.join(", ") });
        }
        valueInput.setAttribute("data-prop", "builderValue");
        valueHolder.appendChild(self.field("builder_value", valueInput,
          operatorSelect.value === "one_of" && !f.choices.length ? self.label("builder_one_of_help") : null));
      }

      function chosenValues() {
        if (valueInput.tagName === "SELECT") {
          return Array.prototype.filter.call(valueInput.options, function (o) { return o.selected; })
            .map(function (o) { return o.value; });
        }
        return operatorSelect.value === "one_of" ? valueInput.value.split(/[,，、]/) : [valueInput.value];
      }

      use.addEventListener("click", function () {
        error.textContent = "";
        var picked = chosenValues();
        self.getJSON(self.builderUrl({ form: forms, field: fieldSelect.value, operator: operatorSelect.value,
                                       value: picked })).then(function (built) {
          if (!built.ok) {
            var fieldsWrong = built.data.fields || {};
            error.textContent = Object.keys(fieldsWrong).map(function (k) { return fieldsWrong[k]; }).join(" ") ||
              built.data.error || "";
            return;
          }
          var f = chosen();
          self.apply(function () {
            var expression = self.service("moddle").create("bpmn:FormalExpression", { body: built.data.expression });
            var props = { conditionExpression: expression };
            if (!element.businessObject.name && f.choices.length && picked.length === 1 &&
                operatorSelect.value === "is") {
              props.name = f.choices.filter(function (c) { return c.value === picked[0]; })[0].label;
            }
            self.service("modeling").updateProperties(element, props);
          });
          var text = body.querySelector('[data-prop="condition"]');
          if (text) text.value = built.data.expression;
          var name = body.querySelector('[data-prop="name"]');
          if (name) name.value = element.businessObject.name || "";
          self.shown = self.signature(element);
          box.setAttribute("data-built", built.data.expression);
        });
      });
      refresh(true);
    });
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
    // A duration of whole days ("P10D") is edited as a number of days; any other expression stays as text.
    var days = /^\s*["']P(\d{1,4})D["']\s*$/.exec(expression || "");
    if (kind === "timeDuration" && (days || !expression)) {
      var dayInput = el("input", { type: "number", className: "form-control form-control-sm", min: "1", max: "3650",
                                   step: "1", value: days ? days[1] : "" });
      dayInput.setAttribute("data-prop", "timerDays");
      dayInput.addEventListener("change", function () {
        var n = parseInt(dayInput.value, 10);
        if (n >= 1 && n <= 3650) {
          exprInput.value = '"P' + n + 'D"';
          update("timeDuration", exprInput.value);
        }
      });
      body.appendChild(this.field("timer_days", dayInput, this.label("timer_days_help")));
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
    var dedicated = USER_TASKS.indexOf(element.type) !== -1 ? ["formKey", "status", "differentPersonFrom"]
      : element.type === "bpmn:EndEvent" ? ["status"] : [];
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
