/* Starts Swagger UI on the API docs page (kka/templates/api/docs.html). The settings
   come from a JSON block written by kka.api.docs; no inline script (CSP). */
(function () {
  "use strict";
  var raw = document.getElementById("swagger-settings-data").textContent;
  var config = JSON.parse(raw);
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.SwaggerUIBundle(config);
})();
