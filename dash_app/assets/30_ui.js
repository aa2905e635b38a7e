// Small behaviours of the shell, by event delegation (Dash re-renders the page body):
// the navbar's menu button on narrow screens, and "Imprimir / PDF" (the print CSS hides the controls).
(function () {
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("#nav-toggle");
    if (toggle) {
      var bar = toggle.closest(".bi-navbar");
      var open = bar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var link = event.target.closest && event.target.closest(".bi-nav a");
    if (link) {
      var nav = link.closest(".bi-navbar");
      if (nav) { nav.classList.remove("open"); }
    }
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
