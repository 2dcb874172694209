#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised: the login role BRAiN's API,
# workers and Flower use. It is a member of brain_app (migration 0006 grants brain_app what
# BRAiN needs) and owns nothing, so row-level security holds it; `brain db upgrade` runs as
# the owner (POSTGRES_USER).
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE brain_app NOLOGIN;
CREATE ROLE brain_api LOGIN PASSWORD '${BRAIN_DB_APP_PASSWORD}' IN ROLE brain_app;
SQL
