// Written by the calendar/time-zone work (issue 19): adds the guest's own time beside
// <time data-venue-zone> elements when the browser's zone differs from the venue's.
