"use strict";
// Redoc for /api/v1/redoc/ (api/templates/api/redoc.html): a file, not an inline script, so the page runs
// under the shop's Content-Security-Policy. Redoc gives its styled-components <style> elements this
// response's nonce (the `nonce` option); the two style elements its bundle writes as it loads, before
// any option can reach it, are allowed by their hashes (api.views.docs). Its search runs in a worker
// made from a blob: URL, which the policy refuses: search is off (SPECTACULAR_SETTINGS), Swagger UI has
// a filter. Its sidebar's "API docs by Redocly" logo comes from a CDN, which the shop does not load:
// the image's address is dropped (React sets it as an attribute, then again as the property).
(function () {
  const fromCdn = (value) => String(value).startsWith("https://cdn.redoc.ly/");
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && name === "src" && fromCdn(value)) {
      return undefined;
    }
    return setAttribute.call(this, name, value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    get() {
      return src.get.call(this);
    },
    set(value) {
      if (!fromCdn(value)) {
        src.set.call(this, value);
      }
    },
  });
  const root = document.getElementById("redoc-container");
  const { schemaUrl, settings, nonce } = root.dataset;
  Redoc.init(schemaUrl, { ...JSON.parse(settings || "{}"), nonce }, root);
})();
