/* The enterprise search field (templates/_enterprise_picker.html): suggest the enterprises the user may see
   from /enterprises/search as they type, and keep the hidden id field in step with the name in the box.
   Without this script the hidden field stays disabled and the server resolves the typed name. */
(function () {
  "use strict";

  var DELAY_MS = 200;

  function setUp(input) {
    var hidden = document.getElementById(input.getAttribute("data-hl-enterprise-id"));
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-hl-enterprise-search");
    if (!hidden || !list || !url) return;
    hidden.disabled = false;
    var known = {};     // name -> id of the suggestions on offer (the chosen enterprise counts as one)
    var asked = 0;      // answers to older requests are dropped
    var timer = null;
    if (hidden.value) known[input.value.trim()] = hidden.value;
    Array.prototype.forEach.call(list.options, function (o) {
      if (o.getAttribute("data-id") && !(o.value in known)) known[o.value] = o.getAttribute("data-id");
    });

    function sync() {
      var name = input.value.trim();
      hidden.value = Object.prototype.hasOwnProperty.call(known, name) ? known[name] : "";
    }

    function show(items) {
      while (list.firstChild) list.removeChild(list.firstChild);
      var chosen = input.value.trim();
      var keep = Object.prototype.hasOwnProperty.call(known, chosen) ? known[chosen] : null;
      known = {};
      if (keep) known[chosen] = keep;
      items.forEach(function (e) {
        var option = document.createElement("option");
        option.value = e.name;
        option.textContent = e.address || "";
        option.setAttribute("data-id", e.id);
        list.appendChild(option);
        if (!Object.prototype.hasOwnProperty.call(known, e.name)) known[e.name] = String(e.id);
      });
      sync();
    }

    function ask() {
      var text = input.value.trim();
      if (!text) return;
      var mine = ++asked;
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(text), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && mine === asked) show(data.items || []); })
        .catch(function () { /* offline or logged out: the server resolves the typed name on submit */ });
    }

    input.addEventListener("input", function () {
      sync();
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("change", sync);
  }

  document.querySelectorAll("[data-hl-enterprise-search]").forEach(setUp);
})();
