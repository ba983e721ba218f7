"""Swagger UI at /api/docs, with every asset served by the gateway (the pinned ``swagger-ui-bundle`` wheel, no CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from gateway.errors import NotFound

router = APIRouter(prefix="/api/docs", tags=["description"])

ASSETS = frozenset(
    {
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)
_CACHE = {"Cache-Control": "public, max-age=86400"}

PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>HARi gateway API</title>
    <link rel="stylesheet" type="text/css" href="/api/docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="/api/docs/index.css" />
    <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/api/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/api/docs/hari-init.js" charset="UTF-8"></script>
  </body>
</html>
"""

# The document is fetched with the token you authorized with (kept by persistAuthorization), so after
# "Authorize" and a reload Swagger UI shows the typed paths of your workspace's entities.
INIT = """window.onload = function () {
  function storedToken() {
    try {
      var saved = JSON.parse(window.localStorage.getItem("authorized") || "{}");
      var scheme = saved.bearerAuth || saved.apiKeyAuth;
      return scheme && scheme.value ? scheme.value : null;
    } catch (e) { return null; }
  }
  window.ui = SwaggerUIBundle({
    url: "/api/openapi",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    requestInterceptor: function (request) {
      var token = storedToken();
      if (token && request.url.indexOf("/api/openapi") !== -1 && !request.headers.Authorization) {
        request.headers.Authorization = "Bearer " + token;
      }
      return request;
    },
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
"""


@router.get("", include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/hari-init.js", include_in_schema=False)
async def swagger_init() -> Response:
    return Response(INIT, media_type="text/javascript", headers=_CACHE)


@router.get("/{asset}", include_in_schema=False)
async def swagger_asset(asset: str) -> FileResponse:
    if asset not in ASSETS:
        raise NotFound(f"No documentation asset '{asset}'.")
    return FileResponse(swagger_ui_path / asset, headers=_CACHE)
