"""Swagger UI at /api/docs, served from the swagger-ui-bundle package: nothing from a CDN, works offline."""
