"use strict";
// Swagger UI for /api/v1/docs/ (api/templates/api/swagger_ui.html). A file, not an inline script, so the
// page runs under the shop's Content-Security-Policy. "Try it out" in a staff session sends the CSRF
// token on writes; with "Authorize" (an API key) Swagger UI sends the key itself.
(function () {
  const root = document.getElementById("swagger-ui");
  const { schemaUrl, settings, csrfHeader, csrfToken } = root.dataset;
  window.ui = SwaggerUIBundle({
    url: schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    requestInterceptor: (request) => {
      if (!["GET", "HEAD", undefined].includes(request.method) && csrfHeader) {
        request.headers[csrfHeader] = csrfToken;
      }
      return request;
    },
    ...JSON.parse(settings || "{}"),
  });
})();
