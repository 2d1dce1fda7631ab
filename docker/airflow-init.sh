#!/usr/bin/env bash
# airflow-init: one-shot set-up, run by `docker compose up` before the Airflow services start.
# Idempotent: every step can run again on an existing installation (that is how upgrades run).
#   1. Airflow metadata database: airflow db migrate
#   2. newsmon database: newsmon db upgrade (migrations, analytics views, role passwords)
#   3. the pool that caps concurrent embedding tasks
#   4. the admin user of the UI (SimpleAuthManager's password file)
set -euo pipefail

echo "airflow-init: migrating the Airflow metadata database"
airflow db migrate

echo "airflow-init: upgrading the newsmon database"
newsmon db upgrade

echo "airflow-init: pool newsmon_embed (${NEWSMON_EMBED_POOL_SLOTS:-1} slot(s))"
airflow pools set newsmon_embed "${NEWSMON_EMBED_POOL_SLOTS:-1}" "newsmon: concurrent embedding tasks (each loads the model)"

echo "airflow-init: admin user ${AIRFLOW_ADMIN_USERNAME:-admin}"
python - <<'PY'
import json, os, pathlib

path = pathlib.Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
user = os.environ.get("AIRFLOW_ADMIN_USERNAME") or "admin"
password = os.environ.get("AIRFLOW_ADMIN_PASSWORD") or ""
if not password:
    raise SystemExit("airflow-init: AIRFLOW_ADMIN_PASSWORD is not set")
passwords = json.loads(path.read_text() or "{}") if path.exists() else {}
passwords[user] = password
path.parent.mkdir(parents=True, exist_ok=True)
tmp = path.with_suffix(".tmp")
tmp.write_text(json.dumps(passwords) + "\n")
tmp.chmod(0o600)
tmp.replace(path)
PY
echo "airflow-init: done"
