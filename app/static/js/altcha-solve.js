/* The public report form's check that a person sends it (templates/public/report.html): solve the server's ALTCHA
   challenge (proof of work: find n with sha256(salt + n) == challenge) in the browser, nothing loaded from
   elsewhere, and put the solution in the hidden field `altcha` (base64 of the JSON the server verifies).
   It starts when the page opens; a submit before it is done waits for it. */
(function () {
  "use strict";

  var BATCH = 500;

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes[i].toString(16)).slice(-2);
    return out;
  }

  function solve(challenge) {
    var encoder = new TextEncoder();
    function batch(start) {
      if (start > challenge.maxnumber) return Promise.resolve(null);
      var tries = [];
      for (var n = start; n < start + BATCH && n <= challenge.maxnumber; n++) {
        tries.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n)));
      }
      return Promise.all(tries).then(function (digests) {
        for (var i = 0; i < digests.length; i++) {
          if (hex(digests[i]) === challenge.challenge) return start + i;
        }
        return batch(start + BATCH);
      });
    }
    return batch(0);
  }

  function setUp(status) {
    var form = status.closest("form");
    var field = form.querySelector('input[name="altcha"]');
    var challenge = JSON.parse(status.getAttribute("data-hl-altcha"));
    var submitting = false;
    status.textContent = status.getAttribute("data-working");
    var done = (window.crypto && crypto.subtle ? solve(challenge) : Promise.resolve(null)).then(function (number) {
      if (number === null) {
        status.textContent = status.getAttribute("data-failed");
        return false;
      }
      field.value = btoa(JSON.stringify({algorithm: challenge.algorithm, challenge: challenge.challenge,
                                         number: number, salt: challenge.salt, signature: challenge.signature}));
      status.textContent = status.getAttribute("data-done");
      form.setAttribute("data-hl-altcha-done", "1");
      return true;
    });
    form.addEventListener("submit", function (event) {
      if (field.value || submitting) return;
      event.preventDefault();
      submitting = true;
      done.then(function (ok) { if (ok) form.submit(); else submitting = false; });
    });
  }

  document.querySelectorAll("[data-hl-altcha]").forEach(setUp);
})();
