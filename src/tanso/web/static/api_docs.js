/* Tanso API documentation: starts Swagger UI (swagger-ui-dist, served from the installation)
 * over the OpenAPI document named by the page. A file rather than an inline script, so the
 * page works under the site's Content-Security-Policy (script-src 'self'). The options are
 * FastAPI's defaults; no validator badge, which would load an image from another site. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
