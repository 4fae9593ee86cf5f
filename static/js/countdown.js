/* The hold's countdown on the review page. Without JavaScript the page says "Held for you until HH:MM".
 *
 * Reads data-expires-at (ISO 8601) on [data-countdown]; data-server-now corrects for a phone whose
 * clock is off. At zero it shows [data-countdown-expired] and disables [data-countdown-disable]:
 * confirming would only be refused by the server. */
(function () {
  "use strict";

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function start(timer) {
    var expiresAt = Date.parse(timer.dataset.expiresAt);
    if (Number.isNaN(expiresAt)) {
      return;
    }
    var serverNow = Date.parse(timer.dataset.serverNow);
    var skew = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
    var text = timer.querySelector("[data-countdown-text]");
    var running = timer.querySelector("[data-countdown-running]");
    var expired = timer.querySelector("[data-countdown-expired]");
    var interval = null;

    function tick() {
      var secondsLeft = Math.max(0, Math.ceil((expiresAt - (Date.now() + skew)) / 1000));
      if (secondsLeft > 0) {
        if (text) {
          // The words come translated from the page: data-left-words="%(time)s left."
          var pattern = timer.getAttribute("data-left-words") || "%(time)s left.";
          text.textContent = pattern.replace("%(time)s", Math.floor(secondsLeft / 60) + ":" + pad(secondsLeft % 60));
        }
        return;
      }
      if (interval !== null) {
        clearInterval(interval);
      }
      if (running) {
        running.hidden = true;
      }
      if (expired) {
        expired.hidden = false;
      }
      document.querySelectorAll("[data-countdown-disable]").forEach(function (button) {
        button.disabled = true;
      });
    }

    tick();
    interval = setInterval(tick, 1000);
  }

  function init() {
    document.querySelectorAll("[data-countdown]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
