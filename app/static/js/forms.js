/* Forms rendered from forms/*.json: show fields only when their `showIf` holds, preview and remove photos. */
(function () {
  "use strict";

  function currentValue(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (!inputs.length) return undefined;
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = Array.prototype.find.call(inputs, function (i) { return i.checked; });
      return checked ? checked.value : null;
    }
    if (first.type === "checkbox") return first.checked;
    return first.value;
  }

  function applyConditions(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (box) {
      var rule = JSON.parse(box.getAttribute("data-show-if"));
      var shown = currentValue(form, rule.field) === rule.equals;
      box.hidden = !shown;
      // A hidden field is not sent, so an answer given before a change of mind does not count.
      box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !shown; });
    });
  }

  function chip(label, onRemove, imageUrl) {
    var box = document.createElement("div");
    box.className = "hl-kept hl-new";
    if (imageUrl) {
      var img = document.createElement("img");
      img.src = imageUrl;
      img.alt = label;
      img.className = "hl-thumb-img";
      box.appendChild(img);
    } else {
      var span = document.createElement("span");
      span.className = "hl-file small";
      span.textContent = label;
      box.appendChild(span);
    }
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm btn-light hl-remove";
    remove.setAttribute("aria-label", "×");
    remove.textContent = "×";
    remove.addEventListener("click", function () { onRemove(); box.remove(); });
    box.appendChild(remove);
    return box;
  }

  // Each pick (or camera shot) gets its own file input, so taking photos one after another adds them all.
  function setupFiles(container) {
    var list = container.querySelector(".hl-file-list");
    container.addEventListener("change", function (event) {
      var input = event.target;
      if (!input.classList || !input.classList.contains("hl-file-input") || !input.files.length) return;
      var fresh = input.cloneNode();
      fresh.value = "";
      fresh.removeAttribute("aria-describedby");
      input.parentNode.insertBefore(fresh, input);
      input.removeAttribute("id");
      input.classList.add("hl-used");
      container.appendChild(input);
      Array.prototype.forEach.call(input.files, function (file) {
        var url = file.type.indexOf("image/") === 0 ? URL.createObjectURL(file) : null;
        list.appendChild(chip(file.name, function () { input.remove(); }, url));
      });
    });
    container.addEventListener("click", function (event) {
      var button = event.target.closest(".hl-kept:not(.hl-new) .hl-remove");
      if (button) button.closest(".hl-kept").remove();
    });
  }

  document.querySelectorAll("form[data-hl-form]").forEach(function (form) {
    form.addEventListener("change", function () { applyConditions(form); });
    applyConditions(form);
    form.querySelectorAll(".hl-files").forEach(setupFiles);
    form.addEventListener("submit", function () {
      var button = form.querySelector('[type="submit"]');
      if (button) { button.disabled = true; button.classList.add("hl-busy"); }
    });
    window.addEventListener("pageshow", function () {
      form.querySelectorAll('[type="submit"]').forEach(function (b) { b.disabled = false; });
    });
    var errors = document.querySelector(".hl-form-errors");
    var firstBad = form.querySelector(".is-invalid");
    if (errors && firstBad) firstBad.focus({ preventScroll: false });
  });
})();
