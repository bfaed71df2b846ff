// The API reference page: Swagger UI on our generated OpenAPI document (no inline script, as
// the Content-Security-Policy asks).
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    defaultModelsExpandDepth: 0,
  });
});
