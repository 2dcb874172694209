"""GET /api/docs (Swagger UI page) and its assets under /api/docs/static/, all shipped in the package."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

# Not a flask-smorest blueprint: the page is not part of the API it documents.
blp = Blueprint("docs", __name__, url_prefix="/api/docs")

OWN_ASSETS = Path(__file__).parent / "static"
VENDOR_ASSETS = str(swagger_ui_path)
VENDOR_FILES = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)

# No inline script: the page starts Swagger UI from init.js, so the CSP can stay script-src 'self'.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>BRAiN API</title>
  <link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/static/swagger-ui-bundle.js"></script>
  <script src="/api/docs/static/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/static/init.js"></script>
</body>
</html>
"""


@blp.get("")
def page() -> Response:
    return Response(PAGE, mimetype="text/html")


@blp.get("/static/<path:name>")
def asset(name: str) -> Response:
    if name == "init.js":
        return send_from_directory(OWN_ASSETS, name, max_age=3600)
    if name not in VENDOR_FILES:
        abort(404)
    return send_from_directory(VENDOR_ASSETS, name, max_age=86400)
