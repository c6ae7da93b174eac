// Starts Swagger UI on /docs without inline script (the CSP forbids it).
(function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: node.dataset.openapiUrl, dom_id: "#swagger-ui" });
})();
