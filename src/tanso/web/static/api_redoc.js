/* Tanso API reference: starts ReDoc (npm redoc's standalone bundle, served from the
 * installation) over the OpenAPI document named by the page. A file rather than an inline
 * script, so the page works under the site's Content-Security-Policy (script-src 'self').
 * No search: ReDoc searches in a Web Worker it makes from a blob: URL, which the policy's
 * script-src 'self' refuses; Swagger UI at /docs has the operations by tag. */
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  Redoc.init(
    root.getAttribute("data-openapi-url"),
    {
      nonce: root.getAttribute("data-style-nonce"), // on its <style> elements: the page's CSP
      disableSearch: true,
      expandResponses: "200,201",
      // the system's fonts: ReDoc's defaults (Roboto, Montserrat) are web fonts not served here
      theme: {
        typography: {
          fontFamily: "system-ui, sans-serif",
          headings: { fontFamily: "system-ui, sans-serif" },
        },
      },
    },
    root
  );
})();
