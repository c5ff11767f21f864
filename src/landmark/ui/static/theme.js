// Sets the saved colour theme before the page paints (no flash of the other theme).
(function () {
  try {
    var saved = localStorage.getItem("landmark-theme");
    if (saved === "dark" || saved === "light") document.documentElement.dataset.theme = saved;
  } catch (e) { /* storage disabled: follow prefers-color-scheme */ }
})();
