/* A character count under a text field with a limit: <textarea data-character-count="1000">, and
 * beside it <span data-character-count-for="the textarea's id" hidden>.
 *
 * The span carries the words, translated: data-one-left, data-many-left ("%(count)s characters left"),
 * data-one-over, data-many-over.
 *
 * Without JavaScript the field keeps its maxlength and the help text says the limit. With it, the
 * count says how many characters are left (or how many too many) as the guest types, and maxlength
 * is lifted: a pasted text is never cut without a word; the server refuses one that is too long
 * and says so next to the field. */
(function () {
  "use strict";

  var format = typeof Intl !== "undefined" && Intl.NumberFormat ? new Intl.NumberFormat() : null;

  function number(value) {
    return format ? format.format(value) : String(value);
  }

  // The words come translated from the page (data-one-left, data-many-left with "%(count)s", ...).
  function words(count, left) {
    var data = count.dataset;
    var many = left >= 0 ? data.manyLeft : data.manyOver;
    var one = left >= 0 ? data.oneLeft : data.oneOver;
    var amount = Math.abs(left);
    if (amount === 1 && one) {
      return one;
    }
    return (many || "%(count)s").replace("%(count)s", number(amount));
  }

  function start(field) {
    var limit = parseInt(field.getAttribute("data-character-count"), 10);
    var count = document.querySelector('[data-character-count-for="' + field.id + '"]');
    if (!limit || !count) {
      return;
    }
    field.removeAttribute("maxlength");
    count.hidden = false;
    var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(count.id) === -1) {
      described.push(count.id);
      field.setAttribute("aria-describedby", described.join(" "));
    }
    var timer = null;

    function update() {
      var left = limit - field.value.length;
      count.textContent = words(count, left);
      count.classList.toggle("over-limit", left < 0);
      field.classList.toggle("over-limit", left < 0);
    }

    field.addEventListener("input", function () {
      // Screen readers hear the count once the typing pauses, not at every key.
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 300);
      count.classList.toggle("over-limit", field.value.length > limit);
    });
    update();
  }

  function init() {
    document.querySelectorAll("textarea[data-character-count], input[data-character-count]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
