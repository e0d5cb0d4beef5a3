/* The form editor: fields (name, widget, labels, required, choices) edited as cards, the whole definition
   as JSON, and a live preview of the form as people will see it. Saving posts JSON with X-CSRFToken;
   the server checks the definition and stores it as a new version. */
(function () {
  "use strict";
  var root = document.getElementById("hl-form-editor");
  if (!root) return;
  var t = JSON.parse(document.getElementById("hl-form-i18n").textContent);
  var widgets = JSON.parse(document.getElementById("hl-form-widgets").textContent);
  var key = root.getAttribute("data-key");
  var lang = document.documentElement.lang === "en" ? "en" : "zh";
  var definition = JSON.parse(document.getElementById("hl-form-definition").textContent) || {
    key: key, title: { zh: "", en: "" }, description: { zh: "", en: "" },
    schema: { "$schema": "https://json-schema.org/draft/2020-12/schema", type: "object", properties: {},
              required: [], additionalProperties: false },
    fields: []
  };
  definition.schema.required = definition.schema.required || [];
  var newTitle = root.getAttribute("data-new-title");
  if (newTitle && !definition.title.zh && !definition.title.en) {
    definition.title[/^[\x00-\x7F]*$/.test(newTitle) ? "en" : "zh"] = newTitle;
  }
  var CHOICE_WIDGETS = ["select", "radio"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "value") node.value = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else if (k === "checked" || k === "disabled") node[k] = !!attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function text(labels) { return labels ? (labels[lang] || labels.en || labels.zh || "") : ""; }

  function format(message, values) {
    return String(message).replace(/%\((\w+)\)s/g, function (_, n) { return values && n in values ? values[n] : ""; });
  }

  /* The schema property a widget needs; keeps what the administrator added (lengths, formats) when it fits. */
  function propertyFor(field, previous) {
    var p = Object.assign({}, previous || {});
    var widget = field.widget || "text";
    delete p.enum;
    if (widget === "checkbox") { p.type = "boolean"; delete p.minLength; delete p.maxLength; delete p.format; }
    else if (widget === "money" || widget === "number") {
      p.type = "number"; delete p.minLength; delete p.maxLength; delete p.format;
    } else if (widget === "attachments") {
      p.type = "array"; p.items = p.items || { type: "integer" }; delete p.minLength; delete p.maxLength; delete p.format;
    } else {
      p.type = "string"; delete p.items;
      if (widget === "date") { p.format = "date"; delete p.maxLength; } else { delete p.format; }
      if (["text", "textarea", "person"].indexOf(widget) !== -1 && !p.maxLength) p.maxLength = widget === "textarea" ? 2000 : 200;
    }
    if (CHOICE_WIDGETS.indexOf(widget) !== -1) {
      p.enum = (field.choices || []).map(function (c) { return c.value; });
      delete p.maxLength; delete p.minLength;
    }
    return p;
  }

  function syncSchema(field, oldName) {
    var props = definition.schema.properties;
    var previous = props[oldName || field.name];
    if (oldName && oldName !== field.name) {
      delete props[oldName];
      definition.schema.required = definition.schema.required.map(function (n) { return n === oldName ? field.name : n; });
    }
    props[field.name] = propertyFor(field, previous);
  }

  function isRequired(name) { return definition.schema.required.indexOf(name) !== -1; }

  function setRequired(name, required) {
    var list = definition.schema.required.filter(function (n) { return n !== name; });
    if (required) list.push(name);
    definition.schema.required = list;
  }

  // ------------------------------------------------------------------------------------ field cards
  function input(value, onChange, attrs) {
    var node = el(attrs && attrs.multiline ? "textarea" : "input",
                  Object.assign({ className: "form-control form-control-sm", value: value || "" }, attrs && attrs.extra));
    node.addEventListener("input", function () { onChange(node.value); refresh(false); });
    return node;
  }

  function labelled(labelText, control) {
    control.id = control.id || "hl-f-" + Math.random().toString(36).slice(2, 8);
    return el("div", { className: "col-sm-6" }, [
      el("label", { className: "form-label small fw-semibold mb-0", "for": control.id, text: labelText }), control]);
  }

  function fieldCard(field, index) {
    var card = el("div", { className: "card hl-field-card" });
    card.setAttribute("data-field", field.name);
    var body = el("div", { className: "card-body p-2" });
    var row = el("div", { className: "row g-2" });
    var name = input(field.name, function (v) {
      var old = field.name;
      field.name = v.trim();
      if (field.name) syncSchema(field, old);
    }, { extra: { "data-prop": "name", pattern: "[A-Za-z][A-Za-z0-9_]*" } });
    name.addEventListener("change", function () { render(); });
    var widget = el("select", { className: "form-select form-select-sm", "data-prop": "widget" });
    widgets.forEach(function (w) {
      var option = el("option", { value: w[0], text: w[1] });
      if (w[0] === (field.widget || "text")) option.selected = true;
      widget.appendChild(option);
    });
    widget.addEventListener("change", function () {
      field.widget = widget.value;
      if (CHOICE_WIDGETS.indexOf(field.widget) !== -1 && !field.choices) field.choices = [];
      if (CHOICE_WIDGETS.indexOf(field.widget) === -1) delete field.choices;
      syncSchema(field);
      render();
    });
    field.label = field.label || {};
    field.help = field.help || {};
    row.appendChild(labelled(t.name, name));
    row.appendChild(labelled(t.widget, widget));
    row.appendChild(labelled(t.label_zh, input(field.label.zh, function (v) { field.label.zh = v; }, { extra: { "data-prop": "label-zh" } })));
    row.appendChild(labelled(t.label_en, input(field.label.en, function (v) { field.label.en = v; }, { extra: { "data-prop": "label-en" } })));
    row.appendChild(labelled(t.help_zh, input(field.help.zh, function (v) { field.help.zh = v; }, { multiline: true })));
    row.appendChild(labelled(t.help_en, input(field.help.en, function (v) { field.help.en = v; }, { multiline: true })));
    body.appendChild(row);

    body.appendChild(rulesEditor(field, index));
    var tools = el("div", { className: "d-flex flex-wrap align-items-center gap-2 mt-2" }, [
      button(t.up, function () { move(index, -1); }, index === 0),
      button(t.down, function () { move(index, 1); }, index === definition.fields.length - 1),
      button(t.remove, function () { removeField(index); }, false, "btn-outline-danger")
    ]);
    body.appendChild(tools);
    if (CHOICE_WIDGETS.indexOf(field.widget) !== -1) body.appendChild(choicesEditor(field));
    card.appendChild(body);
    return card;
  }

  // ------------------------------------------------------------------ conditional rules, without JSON
  /* Fields another field's rule can name: those with a short list of values (choices, yes/no). */
  function valuesOf(name) {
    var other = (definition.fields || []).filter(function (f) { return f.name === name; })[0];
    if (!other) return null;
    if (other.widget === "checkbox") return [[true, t.yes], [false, t.no]];
    if (CHOICE_WIDGETS.indexOf(other.widget) !== -1) {
      return (other.choices || []).map(function (c) { return [c.value, text(c.label) || String(c.value)]; });
    }
    return null;
  }

  /* The "required only when F is V" rule of a field: the allOf clause whose `then` requires it. */
  function requiredWhen(name) {
    var found = null;
    (definition.schema.allOf || []).forEach(function (clause) {
      var props = clause && clause["if"] && clause["if"].properties;
      var then = clause && clause.then && clause.then.required;
      if (found || !props || !then || then.indexOf(name) === -1) return;
      var keys = Object.keys(props);
      if (keys.length === 1 && props[keys[0]] && "const" in props[keys[0]]) found = { field: keys[0], equals: props[keys[0]]["const"] };
    });
    return found;
  }

  function setRequiredWhen(name, rule) {
    var clauses = (definition.schema.allOf || []).map(function (clause) {
      if (clause && clause.then && Array.isArray(clause.then.required)) {
        clause.then.required = clause.then.required.filter(function (n) { return n !== name; });
      }
      return clause;
    }).filter(function (clause) { return !(clause && clause.then && Array.isArray(clause.then.required) && clause.then.required.length === 0); });
    if (rule) {
      var same = clauses.filter(function (clause) {
        var props = clause && clause["if"] && clause["if"].properties;
        return props && Object.keys(props).length === 1 && props[rule.field] && props[rule.field]["const"] === rule.equals && clause.then;
      })[0];
      if (same) same.then.required.push(name);
      else {
        var condition = { properties: {}, required: [rule.field] };
        condition.properties[rule.field] = { "const": rule.equals };
        clauses.push({ "if": condition, then: { required: [name] } });
      }
    }
    if (clauses.length) definition.schema.allOf = clauses; else delete definition.schema.allOf;
  }

  /* "[field] is [value]": picks a field with a short list of values and one of them. */
  function conditionPicker(field, prefix, rule, onChange) {
    var others = (definition.fields || []).filter(function (f) { return f.name !== field.name && valuesOf(f.name); });
    var which = el("select", { className: "form-select form-select-sm", "data-prop": prefix + "-field", "aria-label": t.rule_field });
    others.forEach(function (f) { which.appendChild(el("option", { value: f.name, text: text(f.label) || f.name })); });
    var value = el("select", { className: "form-select form-select-sm", "data-prop": prefix + "-value", "aria-label": t.rule_value });
    function fillValues() {
      value.textContent = "";
      (valuesOf(which.value) || []).forEach(function (v, i) {
        var option = el("option", { value: String(i), text: v[1] });
        if (rule && rule.field === which.value && rule.equals === v[0]) option.selected = true;
        value.appendChild(option);
      });
    }
    if (rule && valuesOf(rule.field)) which.value = rule.field;
    fillValues();
    function changed() {
      var values = valuesOf(which.value) || [];
      var picked = values[Number(value.value) || 0];
      onChange(picked ? { field: which.value, equals: picked[0] } : null);
    }
    which.addEventListener("change", function () { fillValues(); changed(); });
    value.addEventListener("change", changed);
    var row = el("div", { className: "input-group input-group-sm mt-1" }, [which,
      el("span", { className: "input-group-text", text: t.is }), value]);
    return { node: row, apply: changed, usable: others.length > 0 };
  }

  function rulesEditor(field, index) {
    var box = el("div", { className: "row g-2 mt-1 hl-field-rules" });
    var when = requiredWhen(field.name);
    var mode = isRequired(field.name) ? "always" : when ? "when" : "optional";
    var required = el("select", { className: "form-select form-select-sm", id: "hl-req-" + index, "data-prop": "required" }, [
      el("option", { value: "optional", text: t.optional }), el("option", { value: "always", text: t.required_always }),
      el("option", { value: "when", text: t.required_when })]);
    required.value = mode;
    var requiredRule = conditionPicker(field, "required-when", when, function (rule) { setRequiredWhen(field.name, rule); refresh(false); });
    requiredRule.node.hidden = mode !== "when";
    if (!requiredRule.usable) required.options[2].disabled = true;
    required.addEventListener("change", function () {
      setRequired(field.name, required.value === "always");
      requiredRule.node.hidden = required.value !== "when";
      if (required.value === "when") requiredRule.apply(); else setRequiredWhen(field.name, null);
      refresh(false);
    });
    var shown = el("select", { className: "form-select form-select-sm", id: "hl-show-" + index, "data-prop": "shown" }, [
      el("option", { value: "always", text: t.shown_always }), el("option", { value: "when", text: t.shown_when })]);
    shown.value = field.showIf ? "when" : "always";
    var shownRule = conditionPicker(field, "shown-when", field.showIf, function (rule) {
      if (rule) field.showIf = rule; else delete field.showIf;
      refresh(false);
    });
    shownRule.node.hidden = !field.showIf;
    if (!shownRule.usable) shown.options[1].disabled = true;
    shown.addEventListener("change", function () {
      shownRule.node.hidden = shown.value !== "when";
      if (shown.value === "when") shownRule.apply(); else delete field.showIf;
      refresh(false);
    });
    var left = el("div", { className: "col-sm-6" }, [
      el("label", { className: "form-label small fw-semibold mb-0", "for": required.id, text: t.required }), required, requiredRule.node]);
    var right = el("div", { className: "col-sm-6" }, [
      el("label", { className: "form-label small fw-semibold mb-0", "for": shown.id, text: t.shown }), shown, shownRule.node]);
    box.appendChild(left);
    box.appendChild(right);
    return box;
  }

  function button(label, onClick, disabled, style) {
    var b = el("button", { type: "button", className: "btn btn-sm " + (style || "btn-outline-secondary"), text: label,
                           disabled: disabled });
    b.addEventListener("click", onClick);
    return b;
  }

  function choicesEditor(field) {
    var box = el("div", { className: "mt-2" }, [el("div", { className: "small fw-semibold", text: t.choices })]);
    (field.choices || []).forEach(function (choice, i) {
      choice.label = choice.label || {};
      var value = input(choice.value, function (v) { choice.value = v; syncSchema(field); }, { extra: { "aria-label": t.value, placeholder: t.value, "data-prop": "choice-value" } });
      var zh = input(choice.label.zh, function (v) { choice.label.zh = v; }, { extra: { "aria-label": t.label_zh, placeholder: "中文", "data-prop": "choice-zh" } });
      var en = input(choice.label.en, function (v) { choice.label.en = v; }, { extra: { "aria-label": t.label_en, placeholder: "English" } });
      var remove = button("×", function () { field.choices.splice(i, 1); syncSchema(field); render(); }, false, "btn-outline-danger");
      box.appendChild(el("div", { className: "input-group input-group-sm mb-1" }, [value, zh, en, remove]));
    });
    box.appendChild(button("+ " + t.add_choice, function () {
      field.choices.push({ value: "", label: { zh: "", en: "" } });
      render();
    }, false, "btn-link btn-sm p-0"));
    return box;
  }

  function move(index, delta) {
    var fields = definition.fields;
    var item = fields.splice(index, 1)[0];
    fields.splice(index + delta, 0, item);
    render();
  }

  function removeField(index) {
    var field = definition.fields.splice(index, 1)[0];
    delete definition.schema.properties[field.name];
    setRequired(field.name, false);
    setRequiredWhen(field.name, null);
    render();
  }

  function addField() {
    var n = definition.fields.length + 1;
    var name = "field_" + n;
    while (definition.schema.properties[name]) name = "field_" + (++n);
    var field = { name: name, widget: "text", label: { zh: "", en: "" } };
    definition.fields.push(field);
    syncSchema(field);
    render();
    var cards = document.querySelectorAll("#hl-fields .hl-field-card");
    var last = cards[cards.length - 1];
    if (last) last.querySelector("[data-prop=name]").focus();
  }

  // ------------------------------------------------------------------------------------------ preview
  function preview() {
    var box = document.getElementById("hl-preview");
    box.textContent = "";
    box.appendChild(el("h3", { className: "h5", text: text(definition.title) || key }));
    if (text(definition.description)) box.appendChild(el("p", { className: "small text-secondary", text: text(definition.description) }));
    var values = {};
    (definition.fields || []).forEach(function (f, i) {
      var id = "hl-pv-" + i;
      var required = isRequired(f.name) || !!requiredWhen(f.name);
      var label = el("label", { className: "form-label fw-semibold", "for": id, text: text(f.label) || f.name });
      if (required) label.appendChild(el("span", { className: "text-danger", text: " *" }));
      var control;
      var widget = f.widget || "text";
      if (widget === "textarea") control = el("textarea", { className: "form-control", id: id, rows: "3" });
      else if (widget === "select") {
        control = el("select", { className: "form-select", id: id }, [el("option", { value: "", text: t.choose })]);
        (f.choices || []).forEach(function (c) { control.appendChild(el("option", { value: c.value, text: text(c.label) || c.value })); });
      } else if (widget === "radio") {
        control = el("div", { id: id });
        (f.choices || []).forEach(function (c, j) {
          var rid = id + "-" + j;
          var r = el("input", { type: "radio", className: "form-check-input", name: id, id: rid, value: c.value });
          r.addEventListener("change", function () { values[f.name] = c.value; applyShowIf(); });
          control.appendChild(el("div", { className: "form-check form-check-inline" }, [r,
            el("label", { className: "form-check-label", "for": rid, text: text(c.label) || c.value })]));
        });
      } else if (widget === "checkbox") {
        var tick = el("input", { type: "checkbox", className: "form-check-input", id: id });
        values[f.name] = false;
        tick.addEventListener("change", function () { values[f.name] = tick.checked; applyShowIf(); });
        control = el("div", { className: "form-check" }, [tick, el("label", { className: "form-check-label", "for": id, text: t.yes })]);
      } else if (widget === "attachments") {
        control = el("input", { type: "file", className: "form-control", id: id, multiple: "multiple" });
      } else {
        control = el("input", { className: "form-control", id: id,
                                type: widget === "date" ? "date" : (widget === "money" || widget === "number") ? "number" : "text" });
      }
      if (control.tagName === "SELECT") control.addEventListener("change", function () { values[f.name] = control.value; applyShowIf(); });
      var wrapper = el("div", { className: "mb-3", "data-preview-field": f.name }, [label, control,
        text(f.help) ? el("div", { className: "form-text", text: text(f.help) }) : null]);
      if (f.showIf) wrapper.setAttribute("data-show-if", JSON.stringify(f.showIf));
      box.appendChild(wrapper);
    });
    function applyShowIf() {
      Array.prototype.forEach.call(box.querySelectorAll("[data-show-if]"), function (w) {
        var rule = JSON.parse(w.getAttribute("data-show-if"));
        w.hidden = values[rule.field] !== rule.equals;
      });
    }
    applyShowIf();
  }

  // --------------------------------------------------------------------------------------- sync & save
  var jsonBox = document.getElementById("hl-json");
  function refresh(rerenderJson) {
    if (rerenderJson !== false || document.activeElement !== jsonBox) jsonBox.value = JSON.stringify(definition, null, 2);
    preview();
  }

  function render() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-path]"), function (input) {
      var parts = input.getAttribute("data-path").split(".");
      definition[parts[0]] = definition[parts[0]] || {};
      input.value = definition[parts[0]][parts[1]] || "";
    });
    var list = document.getElementById("hl-fields");
    list.textContent = "";
    (definition.fields || []).forEach(function (f, i) { list.appendChild(fieldCard(f, i)); });
    refresh(true);
  }

  Array.prototype.forEach.call(root.querySelectorAll("[data-path]"), function (input) {
    input.addEventListener("input", function () {
      var parts = input.getAttribute("data-path").split(".");
      definition[parts[0]] = definition[parts[0]] || {};
      definition[parts[0]][parts[1]] = input.value;
      refresh(false);
    });
  });

  jsonBox.addEventListener("input", function () {
    var error = document.getElementById("hl-json-error");
    try {
      var parsed = JSON.parse(jsonBox.value);
      if (!parsed || typeof parsed !== "object" || !parsed.schema || !Array.isArray(parsed.fields)) throw new Error("schema/fields");
      definition = parsed;
      definition.schema.required = definition.schema.required || [];
      error.hidden = true;
      var active = document.activeElement;
      render();
      if (active === jsonBox) jsonBox.focus();
    } catch (e) {
      error.hidden = false;
      error.textContent = format(t.json_error, { reason: e.message });
    }
  });

  function status(kind, message, items) {
    var box = document.getElementById("hl-form-status");
    box.className = "alert py-2 small alert-" + kind;
    box.textContent = message;
    if (items && items.length) {
      var list = el("ul", { className: "mb-0 mt-1" });
      items.forEach(function (item) { list.appendChild(el("li", { text: item })); });
      box.appendChild(list);
    }
  }

  document.getElementById("hl-add-field").addEventListener("click", addField);
  document.getElementById("hl-form-save").addEventListener("click", function () {
    fetch(root.getAttribute("data-save-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": root.getAttribute("data-csrf") },
      body: JSON.stringify({ definition: definition, note: document.getElementById("hl-form-note").value,
                             reissue: document.getElementById("hl-form-reissue").checked })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var details = data.problems || Object.keys(data.fields || {}).map(function (k) {
            return k === "_form" ? data.fields[k] : k + ": " + data.fields[k];
          });
          status("danger", format(t.not_saved, { reason: data.error || response.status }), details);
          root.setAttribute("data-saved", "refused");
          return;
        }
        status(data.warnings && data.warnings.length ? "warning" : "success", format(t.saved, { n: data.number }), data.warnings);
        root.setAttribute("data-saved", String(data.number));
      });
    }).catch(function () { status("danger", t.network_failed); });
  });

  render();
})();
