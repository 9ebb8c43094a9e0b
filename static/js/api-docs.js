// The API's documentation page: Swagger UI over the served OpenAPI document.
(function () {
  "use strict";
  const root = document.getElementById("api-docs");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
})();
