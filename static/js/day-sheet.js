/* The day sheet's Print button. Without JavaScript it stays hidden and the page says to print it
 * from the browser; print.css lays the sheet out for A4 landscape either way. */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
