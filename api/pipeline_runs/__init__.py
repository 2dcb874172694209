"""The pipeline runs resource: read, cancel and retry runs (starting one is POST /api/pipelines/{name}/runs)."""
