// Applies the saved colour theme before first paint (kept apart from the modules so the
// page never flashes the wrong theme). "light" / "dark" override prefers-color-scheme.
(function () {
  try {
    var t = localStorage.getItem("gw.theme");
    if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
  } catch (e) { /* storage may be blocked; the system preference applies */ }
})();
