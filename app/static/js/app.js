/* Behaviour shared by every page, attached by data attributes (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";
  // <form data-confirm="Question?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
    // <form data-go-to="/base">: open /base/<the value of its field "key">.
    if (form.hasAttribute("data-go-to")) {
      event.preventDefault();
      var key = (form.elements.key.value || "").trim();
      if (key) { window.location.href = form.getAttribute("data-go-to") + "/" + encodeURIComponent(key); }
    }
  });
  document.addEventListener("click", function (event) {
    // <a data-history-back>: the browser's back button.
    var back = event.target.closest ? event.target.closest("[data-history-back]") : null;
    if (back) { event.preventDefault(); window.history.back(); }
    // <button data-print>: the browser's print dialog (documents/print.html).
    var print = event.target.closest ? event.target.closest("[data-print]") : null;
    if (print) { event.preventDefault(); window.print(); }
    // <input type="checkbox" data-check-all="selector">: set every matching box to its state.
    var all = event.target;
    if (all.hasAttribute && all.hasAttribute("data-check-all")) {
      document.querySelectorAll(all.getAttribute("data-check-all")).forEach(function (box) { box.checked = all.checked; });
    }
  });
})();
