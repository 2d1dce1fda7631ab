#!/usr/bin/env bash
# Runs once, when the Postgres volume is empty (docker-entrypoint-initdb.d), as the superuser:
# the Airflow metadata database and the newsmon database, each owned by its own login role.
# The newsmon owner may create roles: `newsmon db upgrade` (airflow-init) creates newsmon_app
# and newsmon_analyst and sets their passwords. pgvector is created here because only a
# superuser may create that extension.
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"
: "${NEWSMON_DB_PASSWORD:?NEWSMON_DB_PASSWORD is not set}"
AIRFLOW_DB_USER="${AIRFLOW_DB_USER:-airflow}"
AIRFLOW_DB_NAME="${AIRFLOW_DB_NAME:-airflow}"
NEWSMON_DB_USER="${NEWSMON_DB_USER:-newsmon}"
NEWSMON_DB_NAME="${NEWSMON_DB_NAME:-newsmon}"

# psql variables (:'x' quoted literal, :"x" quoted identifier) keep the values out of the SQL text.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
     -v airflow_user="$AIRFLOW_DB_USER" -v airflow_db="$AIRFLOW_DB_NAME" -v airflow_password="$AIRFLOW_DB_PASSWORD" \
     -v newsmon_user="$NEWSMON_DB_USER" -v newsmon_db="$NEWSMON_DB_NAME" -v newsmon_password="$NEWSMON_DB_PASSWORD" <<'SQL'
CREATE ROLE :"airflow_user" LOGIN PASSWORD :'airflow_password';
CREATE DATABASE :"airflow_db" OWNER :"airflow_user";
CREATE ROLE :"newsmon_user" LOGIN CREATEROLE PASSWORD :'newsmon_password';
CREATE DATABASE :"newsmon_db" OWNER :"newsmon_user";
\connect :"newsmon_db"
CREATE EXTENSION IF NOT EXISTS vector;
SQL
echo "init-databases: created databases $AIRFLOW_DB_NAME and $NEWSMON_DB_NAME"
