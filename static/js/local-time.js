// The guest's own time beside a venue's. {% venue_time %} renders a moment at a venue as
//   <time datetime="2026-11-14T19:00:00+01:00" data-venue-zone="Europe/Berlin">Fri 14 Nov 19:00</time>
// and, when the browser's zone is another one whose clock says another time then, this adds
//   <span class="your-time"> (13:00 your time)</span>            (the same day there and here)
//   <span class="your-time"> (Thu 13 Nov 23:00 your time)</span> (another day here)
// right after it. A static file, as the Content Security Policy allows no inline script; run again
// on content htmx swaps in (the slot picker).
(function () {
  "use strict";

  var ownZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var language = document.documentElement.lang || "en";

  // The moment's weekday, day, month and clock on the wall of `zone`.
  function wallClock(moment, zone) {
    var parts = {};
    new Intl.DateTimeFormat(language, {
      timeZone: zone,
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(moment)
      .forEach(function (part) {
        parts[part.type] = part.value;
      });
    return {
      day: parts.weekday + " " + parts.day + " " + parts.month,
      time: parts.hour + ":" + parts.minute,
    };
  }

  function addYourTime(element) {
    var venueZone = element.getAttribute("data-venue-zone");
    var moment = new Date(element.getAttribute("datetime"));
    var next = element.nextElementSibling;
    if (!ownZone || !venueZone || ownZone === venueZone || isNaN(moment.getTime())) return;
    if (next && next.classList.contains("your-time")) return; // added already
    var there = wallClock(moment, venueZone);
    var here = wallClock(moment, ownZone);
    if (here.day === there.day && here.time === there.time) return; // another zone, the same clock
    var words = here.day === there.day ? here.time : here.day + " " + here.time;
    var yours = document.createElement("span");
    yours.className = "your-time";
    // The words come translated from the page: <html data-your-time="%(time)s your time">.
    var pattern = document.documentElement.getAttribute("data-your-time") || "%(time)s your time";
    yours.textContent = " (" + pattern.replace("%(time)s", words) + ")";
    element.insertAdjacentElement("afterend", yours);
  }

  function addAll(root) {
    root.querySelectorAll("time[datetime][data-venue-zone]").forEach(addYourTime);
  }

  addAll(document);
  document.addEventListener("htmx:load", function (event) {
    addAll(event.target);
  });
})();
