// wirewatch console enhancements. Every page works without this file: it makes the playground
// live (debounced re-runs as you type) and adds a copy button to the config block.
"use strict";
(function () {
  function copyButton() {
    var button = document.getElementById("copy");
    var block = document.getElementById("toml");
    if (!button || !block || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(block.textContent).then(function () { button.textContent = "Copied"; });
    });
  }
  var form = document.getElementById("playground");
  var results = document.getElementById("results");
  copyButton();
  if (!form || !results) return;
  var timer = null;
  var latest = 0;
  function run() {
    var parameters = new URLSearchParams(new FormData(form));
    var number = ++latest;
    history.replaceState(null, "", "/playground?" + parameters.toString());
    parameters.set("fragment", "1");
    fetch("/playground?" + parameters.toString(), { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        // answers can arrive out of order: only the newest query's is shown
        if (number !== latest) return;
        // the server renders and escapes the fragment, exactly as it does the full page
        results.innerHTML = html;
        copyButton();
      });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); clearTimeout(timer); run(); });
})();
