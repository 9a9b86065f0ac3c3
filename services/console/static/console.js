// Refresh the overview in place every 10 s (the page is complete without this script).
(function () {
  "use strict";
  var box = document.getElementById("overview");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-fragment");
  function refresh() {
    fetch(url, { credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.status !== 200) { throw new Error("signed out or unavailable"); }
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.setAttribute("data-refreshed", String(Date.now()));
        window.setTimeout(refresh, 10000);
      })
      .catch(function () { /* leave the page as it is: a reload shows the sign-in form */ });
  }
  window.setTimeout(refresh, 10000);
})();
