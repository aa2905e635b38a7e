// A session that ends while a page is open (expiry, sign-out in another tab, server restart with a
// new key) makes every Dash callback answer 401. Without this the page would just stop updating:
// send the reader to the sign-in page, which brings them back to where they were.
(function () {
  var original = window.fetch;
  if (!original) {
    return;
  }
  var leaving = false;
  window.fetch = function (input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    return original.apply(this, arguments).then(function (response) {
      if (response.status === 401 && !leaving && url.indexOf("/_dash-") !== -1) {
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
