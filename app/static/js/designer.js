/* The process designer page: bpmn-js Modeler, properties panel, check/save/deploy, import/export.

   Server calls are JSON with the X-CSRFToken header. Problems come back as {element_id, message};
   each is marked on its element (red outline + a numbered badge) and listed below the canvas.
   window.hlDesigner exposes the modeler for the browser tests and for the curious. */
(function () {
  "use strict";
  var root = document.getElementById("hl-designer");
  if (!root || typeof BpmnJS === "undefined") return;

  var t = JSON.parse(document.getElementById("hl-designer-i18n").textContent);
  var options = JSON.parse(document.getElementById("hl-designer-options").textContent);
  t.select_hint = document.querySelector("#hl-panel-body p") ? document.querySelector("#hl-panel-body p").textContent : "";
  var csrf = root.getAttribute("data-csrf");
  var maxBytes = parseInt(root.getAttribute("data-max-bytes"), 10);
  var draftId = root.getAttribute("data-draft-id") || null;
  var draftName = root.getAttribute("data-draft-name") || "";
  var baseVersionId = root.getAttribute("data-base-version-id") || null;
  var dirty = false;
  var marked = [];

  var modeler = new BpmnJS({
    container: root.querySelector(".hl-modeler-canvas"),
    moddleExtensions: { spiffworkflow: window.HL_SPIFFWORKFLOW_MODDLE },
    additionalModules: [window.HL_BPMN_TRANSLATE(document.documentElement.lang)].concat(window.HL_MODELER_MODULES || [])
  });
  options.csrf = csrf;
  var panel = new window.HLPanel(modeler, document.getElementById("hl-panel-body"), options, t);

  function format(message, values) {
    return String(message).replace(/%\((\w+)\)s/g, function (_, name) { return values && name in values ? values[name] : ""; });
  }

  function status(kind, text, links) {
    var box = document.getElementById("hl-status");
    box.className = "alert py-2 small alert-" + kind;
    box.textContent = text;
    (links || []).forEach(function (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.className = "alert-link ms-2";
      a.textContent = link.text;
      a.id = link.id || "";
      box.appendChild(a);
    });
  }

  function setDirty(value) {
    dirty = value;
    document.getElementById("hl-dirty").hidden = !value;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function xml() {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  // ------------------------------------------------------------------------------------------ problems
  function clearProblems() {
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    marked.forEach(function (id) { canvas.removeMarker(id, "hl-error"); });
    overlays.remove({ type: "hl-problem" });
    marked = [];
    document.getElementById("hl-problems").textContent = "";
    document.getElementById("hl-problems-card").hidden = true;
  }

  function showProblems(problems) {
    clearProblems();
    var registry = modeler.get("elementRegistry");
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    var list = document.getElementById("hl-problems");
    var perElement = {};
    problems.forEach(function (problem, index) {
      var element = problem.element_id ? registry.get(problem.element_id) : null;
      if (!element && problem.element_id) {  // a process's settings: mark the pool that stands for it
        element = registry.filter(function (e) {
          var ref = e.type === "bpmn:Participant" && e.businessObject.processRef;
          return ref && ref.id === problem.element_id;
        })[0] || null;
      }
      var item = document.createElement("li");
      item.setAttribute("data-element", problem.element_id || "");
      var where = document.createElement("span");
      where.className = "fw-semibold me-1";
      where.textContent = element ? (element.businessObject.name || element.id) + ":" :
        (problem.element_id ? problem.element_id + ":" : t.whole_diagram + ":");
      item.appendChild(where);
      item.appendChild(document.createTextNode(problem.message));
      if (element) {
        item.addEventListener("click", function () {
          canvas.scrollToElement(element);
          modeler.get("selection").select(element);
        });
        if (marked.indexOf(element.id) === -1) {
          canvas.addMarker(element.id, "hl-error");
          marked.push(element.id);
        }
        perElement[element.id] = (perElement[element.id] || []).concat([index + 1]);
      }
      list.appendChild(item);
    });
    Object.keys(perElement).forEach(function (id) {
      var badge = document.createElement("div");
      badge.className = "hl-problem-badge";
      badge.setAttribute("data-element", id);
      badge.textContent = "! " + perElement[id].join(", ");
      badge.title = problems.filter(function (p) { return p.element_id === id; })
        .map(function (p) { return p.message; }).join("\n");
      overlays.add(id, "hl-problem", { position: { top: -12, right: 12 }, html: badge });
    });
    document.getElementById("hl-problems-card").hidden = problems.length === 0;
  }

  // ------------------------------------------------------------------------------------------- actions
  function check() {
    status("info", t.checking);
    return xml().then(function (text) {
      return post(root.getAttribute("data-validate-url"), { xml: text });
    }).then(function (result) {
      if (!result.ok) return failed(result);
      var problems = result.data.problems || [];
      showProblems(problems);
      var warnings = (result.data.warnings || []).map(function (w) { return w.message; });
      if (problems.length) status("warning", format(t.problems, { n: problems.length }));
      else status(warnings.length ? "warning" : "success", [t.valid].concat(warnings).join(" "));
      root.setAttribute("data-checked", problems.length ? "problems" : "valid");
      return problems;
    }).catch(networkFailed);
  }

  function failed(result) {
    if (result.data && result.data.problems) {
      showProblems(result.data.problems);
      status("danger", (result.data.error || "") + " " + format(t.problems, { n: result.data.problems.length }));
    } else {
      status("danger", format(t.request_failed, { reason: (result.data && result.data.error) || result.status }));
    }
    return null;
  }

  function networkFailed(error) {
    status("danger", t.network_failed + (error && error.message ? " (" + error.message + ")" : ""));
  }

  function saveDraft() {
    status("info", t.saving);
    return xml().then(function (text) {
      return post(root.getAttribute("data-drafts-url"), {
        xml: text, draft_id: draftId, name: draftName, base_version_id: baseVersionId
      });
    }).then(function (result) {
      if (!result.ok) return failed(result);
      if (!draftId) storeViewAs("draft-" + result.data.id);
      draftId = String(result.data.id);
      draftName = result.data.name;
      root.setAttribute("data-draft-id", draftId);
      history.replaceState(null, "", result.data.url);
      listDraft(result.data);
      setDirty(false);
      status("success", t.saved);
      return result.data;
    }).catch(networkFailed);
  }

  function storeViewAs(id) {
    try {
      var box = modeler.get("canvas").viewbox();
      window.localStorage.setItem(viewKey(id), JSON.stringify({ x: box.x, y: box.y, scale: box.scale }));
    } catch (e) { /* not kept */ }
  }

  function listDraft(draft) {
    var table = document.querySelector("#hl-drafts tbody");
    var none = table.querySelector(".hl-no-drafts");
    if (none) none.remove();
    var row = table.querySelector('tr[data-draft="' + draft.id + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.setAttribute("data-draft", draft.id);
      row.appendChild(document.createElement("td"));
      row.appendChild(document.createElement("td"));
      table.insertBefore(row, table.firstChild);
    }
    var link = document.createElement("a");
    link.href = draft.url;
    link.textContent = draft.name;
    row.cells[0].textContent = "";
    row.cells[0].appendChild(link);
    row.cells[1].textContent = new Date(draft.updated_at).toLocaleString();
    row.cells[1].className = "text-secondary text-nowrap";
  }

  function deploy(note) {
    status("info", t.deploying);
    return xml().then(function (text) {
      return post(root.getAttribute("data-deploy-url"), { xml: text, note: note || "", draft_id: draftId });
    }).then(function (result) {
      if (!result.ok) {
        root.setAttribute("data-deployed", "refused");
        return failed(result);
      }
      clearProblems();
      setDirty(false);
      draftId = null;
      root.setAttribute("data-draft-id", "");
      root.setAttribute("data-deployed", String(result.data.number));
      status("success", format(t.deployed, { n: result.data.number }), [
        { href: result.data.url, text: t.view_version, id: "hl-deployed-link" },
        { href: result.data.migrate_url, text: t.move_hazards, id: "hl-migrate-link" }
      ]);
      return result.data;
    }).catch(networkFailed);
  }

  /* The changes compared with the active version, in sentences with old → new values (the server's words). */
  function summaryList(lines) {
    var ul = document.createElement("ul");
    ul.className = "mb-1 hl-change-summary";
    lines.forEach(function (line) {
      var li = document.createElement("li");
      li.setAttribute("data-change", line.change);
      li.textContent = line.text;
      if (line.change === "changed") {
        li.appendChild(document.createTextNode(": "));
        var before = document.createElement("span");
        before.className = "hl-before text-decoration-line-through text-secondary";
        before.textContent = line.before;
        var after = document.createElement("span");
        after.className = "hl-after fw-semibold";
        after.textContent = line.after;
        li.appendChild(before);
        li.appendChild(document.createTextNode(" → "));
        li.appendChild(after);
      }
      ul.appendChild(li);
    });
    return ul;
  }

  function showChanges(target) {
    return xml().then(function (text) {
      return post(root.getAttribute("data-changes-url"), { xml: text });
    }).then(function (result) {
      if (!result.ok) return failed(result);
      var d = result.data;
      var bodies = [document.getElementById("hl-changes-body")].concat(target ? [target] : []);
      bodies.forEach(function (body) {
        body.textContent = "";
        if (d.summary && d.summary.length) body.appendChild(summaryList(d.summary));
        else body.textContent = t.changes_none;
      });
      document.getElementById("hl-changes-card").hidden = false;
      return d;
    }).catch(networkFailed);
  }

  function open(text, keepView) {
    return modeler.importXML(text).then(function (result) {
      if (!(keepView && restoreView())) fit(modeler.get("canvas"));
      clearProblems();
      root.setAttribute("data-state", "ready");
      var warnings = (result.warnings || []).length;
      root.setAttribute("data-warnings", String(warnings));
      if (warnings) status("warning", format(t.import_warnings, { n: warnings }));
      return result;
    });
  }

  /* Fit the diagram, leaving room on the left for the palette so that no element hides under it. A large
     diagram is not shrunk below a readable scale: it opens at its start (top left), the rest a scroll away. */
  var READABLE = 0.7;
  function fit(canvas) {
    canvas.zoom("fit-viewport", "auto");
    var box = canvas.viewbox();
    var palette = root.querySelector(".djs-palette");
    var room = ((palette ? palette.offsetWidth : 100) + 16) / box.scale;
    canvas.viewbox({ x: box.x - room, y: box.y - room / 4, width: box.width + room, height: box.height + room / 2 });
    box = canvas.viewbox();
    if (box.scale < READABLE) {
      var inner = box.inner, outer = box.outer;
      var left = ((palette ? palette.offsetWidth : 100) + 16) / READABLE;
      canvas.viewbox({ x: inner.x - left, y: inner.y - 20, width: outer.width / READABLE, height: outer.height / READABLE });
    }
  }

  // ------------------------------------------------------------------------------ zoom kept per diagram
  /* The zoom and scroll of each draft (or version) are kept in this browser, so reopening it shows the same
     part of the diagram at the same size. */
  function viewKey(id) {
    return "hl-designer-view:" + root.getAttribute("data-key") + ":" +
      (id || (draftId ? "draft-" + draftId : "version-" + root.getAttribute("data-base-version")));
  }

  function storeView() {
    var box = modeler.get("canvas").viewbox();
    try {
      window.localStorage.setItem(viewKey(), JSON.stringify({ x: box.x, y: box.y, scale: box.scale }));
    } catch (e) { /* private mode or full: the view is simply not kept */ }
  }

  function restoreView() {
    var stored = null;
    try { stored = JSON.parse(window.localStorage.getItem(viewKey()) || "null"); } catch (e) { stored = null; }
    if (!stored || !(stored.scale > 0.05 && stored.scale < 5) || !isFinite(stored.x) || !isFinite(stored.y)) {
      return false;
    }
    var outer = modeler.get("canvas").viewbox().outer;
    modeler.get("canvas").viewbox({ x: stored.x, y: stored.y, width: outer.width / stored.scale,
                                    height: outer.height / stored.scale });
    return true;
  }

  var viewTimer = null;
  modeler.get("eventBus").on("canvas.viewbox.changed", function () {
    if (root.getAttribute("data-state") !== "ready") return;
    clearTimeout(viewTimer);
    viewTimer = setTimeout(storeView, 200);
  });

  // ------------------------------------------------------------------------ a new user task: who and what
  var taskModalElement = document.getElementById("hl-task-modal");
  var taskModal = window.bootstrap && taskModalElement ? new window.bootstrap.Modal(taskModalElement) : null;
  var askedTask = null;

  function askForUserTask(element) {
    askedTask = element;
    var laneSelect = document.getElementById("hl-task-lane");
    var formSelect = document.getElementById("hl-task-form");
    laneSelect.textContent = "";
    formSelect.textContent = "";
    var current = panel.laneOf(element);
    panel.lanes().forEach(function (lane) {
      var option = document.createElement("option");
      option.value = lane.id;
      option.textContent = lane.businessObject.name || lane.id;
      option.selected = current === lane;
      laneSelect.appendChild(option);
    });
    document.getElementById("hl-task-lane-field").hidden = panel.lanes().length === 0;
    [{ key: "", label: t.no_form }].concat((options.forms || []).map(function (f) {
      var title = f.title && (f.title[document.documentElement.lang === "en" ? "en" : "zh"] || f.title.en) || "";
      return { key: f.key, label: (title || f.key) };
    })).concat([{ key: "__new__", label: t.new_form }]).forEach(function (f) {
      var option = document.createElement("option");
      option.value = f.key;
      option.textContent = f.label;
      formSelect.appendChild(option);
    });
    document.getElementById("hl-task-name").value = element.businessObject.name || "";
    if (taskModal) taskModal.show();
    root.setAttribute("data-asking", element.id);
  }

  modeler.get("eventBus").on("hl.userTask.created", function (event) { askForUserTask(event.element); });
  if (taskModalElement) {
    taskModalElement.addEventListener("shown.bs.modal", function () { document.getElementById("hl-task-name").focus(); });
    document.getElementById("hl-task-form-el").addEventListener("submit", function (e) {
      e.preventDefault();
      var element = askedTask;
      askedTask = null;
      if (taskModal) taskModal.hide();
      root.removeAttribute("data-asking");
      if (!element) return;
      var name = document.getElementById("hl-task-name").value.trim();
      var lane = modeler.get("elementRegistry").get(document.getElementById("hl-task-lane").value);
      var form = document.getElementById("hl-task-form").value;
      if (name) modeler.get("modeling").updateLabel(element, name);
      if (lane && panel.laneOf(element) !== lane) panel.moveToLane(element, lane);
      if (form === "__new__") panel.newForm(element);
      else if (form) panel.apply(function () { panel.setProperty(element, "formKey", form); });
      modeler.get("selection").select(element);
      panel.show(element);
    });
  }

  function importFile(file) {
    if (!file) return;
    if (file.size > maxBytes) {
      status("danger", format(t.too_large, { n: Math.round(maxBytes / 1024) }));
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      open(String(reader.result)).then(function () { setDirty(true); status("info", file.name); })
        .catch(function (error) { status("danger", format(t.import_failed, { reason: error.message })); });
    };
    reader.readAsText(file, "utf-8");
  }

  function exportFile() {
    xml().then(function (text) {
      var blob = new Blob([text], { type: "application/xml" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = root.getAttribute("data-key") + ".bpmn";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
    });
  }

  // ------------------------------------------------------------------------------------------- wiring
  modeler.get("eventBus").on("commandStack.changed", function () { setDirty(true); });
  document.getElementById("hl-undo").addEventListener("click", function () { modeler.get("commandStack").undo(); });
  document.getElementById("hl-redo").addEventListener("click", function () { modeler.get("commandStack").redo(); });
  document.getElementById("hl-validate").addEventListener("click", check);
  document.getElementById("hl-save").addEventListener("click", saveDraft);
  document.getElementById("hl-changes").addEventListener("click", function () { showChanges(); });
  document.getElementById("hl-export").addEventListener("click", exportFile);
  document.getElementById("hl-import").addEventListener("change", function (e) {
    importFile(e.target.files[0]);
    e.target.value = "";
  });
  var modalElement = document.getElementById("hl-deploy-modal");
  var modal = window.bootstrap ? new window.bootstrap.Modal(modalElement) : null;
  document.getElementById("hl-deploy").addEventListener("click", function () {
    if (modal) {
      modal.show();
      showChanges(document.getElementById("hl-deploy-summary"));
    } else {
      deploy(window.prompt(t.deploying) || "");
    }
  });
  document.getElementById("hl-deploy-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (modal) modal.hide();
    deploy(document.getElementById("hl-deploy-note").value);
  });
  // Keyboard shortcuts are bound to the canvas in bpmn-js 18 (implicit binding): focus it on click.
  root.querySelector(".hl-modeler-canvas").addEventListener("mousedown", function () {
    var svg = root.querySelector(".hl-modeler-canvas svg");
    if (svg && document.activeElement !== svg) svg.focus({ preventScroll: true });
  });
  window.addEventListener("beforeunload", function (e) {
    if (!dirty) return undefined;
    e.preventDefault();
    e.returnValue = t.unsaved;
    return t.unsaved;
  });

  fetch(root.getAttribute("data-xml-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    })
    .then(function (text) { return open(text, true); })
    .then(function () { setDirty(false); })
    .catch(function (error) {
      root.setAttribute("data-state", "error");
      status("danger", format(t.loading_failed, { reason: error.message }));
    });

  window.hlDesigner = {
    modeler: modeler, panel: panel, check: check, saveDraft: saveDraft, deploy: deploy, open: open,
    showChanges: showChanges, xml: xml, fit: function () { fit(modeler.get("canvas")); }
  };
})();
