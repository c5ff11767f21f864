// The UI's behaviour: the action dialog, the theme toggle, keyboard navigation.
(function () {
  "use strict";
  var root = document.documentElement;

  function dark() {
    var theme = root.dataset.theme;
    if (theme) return theme === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function showToggle() {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    var on = dark();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "Light mode" : "Dark mode";
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest("#theme-toggle")) {
      var next = dark() ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("landmark-theme", next); } catch (e) { /* not kept */ }
      showToggle();
      return;
    }
    var closer = target.closest("[data-close]");
    if (closer) {
      event.preventDefault();
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // An action's answer (its plan, its result or its error) lands in the dialog: open it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "dialog-body") return;
    var dialog = document.getElementById("dialog");
    if (!dialog.open) dialog.showModal();
    var first = dialog.querySelector("[autofocus]") || dialog.querySelector("button, input, a");
    if (first) first.focus();
  });

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  }

  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    if (typing(document.activeElement)) return;
    if (event.key === "/") {
      var search = document.querySelector("input[type=search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (event.key !== "j" && event.key !== "k") return;
    var all = rows();
    if (!all.length) return;
    var current = document.activeElement ? document.activeElement.closest("tr[data-row]") : null;
    var index = current ? all.indexOf(current) : -1;
    index = event.key === "j" ? Math.min(all.length - 1, index + 1) : Math.max(0, index - 1);
    var link = all[index].querySelector("a, input, button");
    if (link) { event.preventDefault(); link.focus(); }
  });

  showToggle();
})();
