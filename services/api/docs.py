"""The Swagger UI at `/docs` and at wg-portal's own path `/api/v1/doc.html`, with no CDN.

FastAPI's default page loads Swagger UI's script and style from a CDN, so it is blank on a host
without internet. Here every file the page references comes from the `swagger-ui-bundle-v2`
package (Swagger UI 5, which renders the OpenAPI 3.1 that FastAPI writes), served by this API
under `/docs/assets/`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"
PAGES = ("/docs", "/api/v1/doc.html")  # ours (FastAPI's habit) and wg-portal's


def install(app: FastAPI) -> None:
    """Serve the UI pages and their assets; `app` must be built with `docs_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui-assets")

    def page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # no badge from validator.swagger.io: nothing leaves the page
            swagger_ui_parameters={"validatorUrl": None},
        )

    for path in PAGES:
        app.add_api_route(path, page, include_in_schema=False, response_class=HTMLResponse)
