// The search across venues (templates/home.html): a hotel has no time to choose and a restaurant
// no nights, so the fields that do not matter for the kind of place chosen are hidden
// (data-hidden-for lists those kinds). Without JavaScript every field shows and works.
(function () {
  "use strict";

  function update(form) {
    var kind = form.elements.kind ? form.elements.kind.value : "";
    form.querySelectorAll("[data-hidden-for]").forEach(function (field) {
      field.hidden = field.getAttribute("data-hidden-for").split(" ").indexOf(kind) !== -1;
    });
  }

  function start() {
    document.querySelectorAll("form[data-venue-search]").forEach(function (form) {
      form.addEventListener("change", function () { update(form); });
      update(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
