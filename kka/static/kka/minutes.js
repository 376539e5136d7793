// Minutes autosave: every few seconds, with the version it was based on.
// A conflict never overwrites: autosave pauses until the person has merged.
// Unsaved text is kept in sessionStorage (this tab only, gone when it closes),
// never in localStorage, so it does not linger on a shared school PC.
(function () {
  "use strict";
  var form = document.getElementById("minutes-form");
  if (!form) { return; }
  var key = "kka-minutes-" + form.dataset.conference;
  var status = document.getElementById("save-status");
  var conflictBox = document.getElementById("conflict");
  var dirty = false, saving = false, paused = false;

  function fields() { return form.querySelectorAll("[data-minutes-field]"); }
  function collect() {
    var values = {};
    fields().forEach(function (el) { values[el.name] = el.value; });
    return values;
  }
  function say(text) { status.textContent = text; }
  function remember() {
    try {
      sessionStorage.setItem(key, JSON.stringify({ version: form.elements.version.value, values: collect() }));
    } catch (e) { /* storage full or disabled: the server copy still counts */ }
  }

  try {
    var kept = JSON.parse(sessionStorage.getItem(key) || "null");
    if (kept && String(kept.version) === form.elements.version.value) {
      var changed = false;
      Object.keys(kept.values).forEach(function (name) {
        var el = form.elements[name];
        if (el && el.value !== kept.values[name]) { el.value = kept.values[name]; changed = true; }
      });
      if (changed) { dirty = true; say(form.dataset.restored); } else { sessionStorage.removeItem(key); }
    }
  } catch (e) { /* ignore a damaged copy */ }

  form.addEventListener("input", function () { dirty = true; remember(); say(form.dataset.unsaved); });
  form.addEventListener("change", function () { dirty = true; remember(); say(form.dataset.unsaved); });

  function save() {
    if (!dirty || saving || paused) { return; }
    saving = true;
    fetch(form.dataset.saveUrl, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (result.status === 200) {
        form.elements.version.value = result.data.version;
        dirty = false;
        sessionStorage.removeItem(key);
        say(form.dataset.saved + " " + result.data.saved_at);
      } else if (result.status === 409) {
        paused = true;
        form.elements.version.value = result.data.current_version;
        conflictBox.hidden = false;
        conflictBox.querySelectorAll("[data-current]").forEach(function (el) {
          el.textContent = result.data.current[el.dataset.current] || "";
        });
        remember();
        say(form.dataset.conflict);
      } else {
        say(result.data.message || form.dataset.failed);
      }
    }).catch(function () {
      say(form.dataset.offline);
    }).then(function () { saving = false; });
  }

  document.getElementById("conflict-merged").addEventListener("click", function () {
    paused = false;
    conflictBox.hidden = true;
    dirty = true;
    save();
  });
  setInterval(save, 4000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(); }
  });
})();
