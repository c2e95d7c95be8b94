// Starts Swagger UI on the REST API's OpenAPI document. It is a file of its own, not an inline
// script, so that the page's Content-Security-Policy can allow scripts from this server only.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 1,
  displayRequestDuration: true,
  showExtensions: true,
  // No request to an outside validator: the page works offline.
  validatorUrl: null,
});
