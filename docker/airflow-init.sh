#!/usr/bin/env bash
# airflow-init: one-shot set-up, run by `docker compose up` before the Airflow services start.
# Idempotent: every step can run again on an existing installation (that is how upgrades run).
#   0. refuse placeholder or weak secrets; warn when the host is short of memory, CPUs or disk
#   1. Airflow metadata database: airflow db migrate
#   2. newsmon database: newsmon db upgrade (migrations, analytics views, role passwords)
#   3. the pool that caps concurrent embedding tasks, created only when missing
#   4. the admin user of the UI (SimpleAuthManager's password file)
set -euo pipefail

# --- 0. secrets: one line naming the variable; the values themselves are never printed
SECRETS=(POSTGRES_PASSWORD AIRFLOW_DB_PASSWORD NEWSMON_DB_PASSWORD NEWSMON_APP_PASSWORD NEWSMON_ANALYST_PASSWORD
         AIRFLOW_ADMIN_PASSWORD AIRFLOW_FERNET_KEY AIRFLOW_JWT_SECRET AIRFLOW_API_SECRET_KEY NEWSMON_UNSUBSCRIBE_SECRET)
for name in "${SECRETS[@]}"; do
  value="${!name-}"
  if [ -z "$value" ]; then
    echo "airflow-init: $name is not set: run \`make stack-env\` to write .env with generated secrets" >&2
    exit 1
  fi
  case "$value" in
    change-me|*-dev-password|*dev-secret*|LwqhbttecUfK5-xnmt07vx7zS9me_5i9MaDF8vwjz8Q=)
      echo "airflow-init: $name still has the .env.example value: run \`make stack-env\` (or set a secret of your own)" >&2
      exit 1 ;;
  esac
done
if [ -n "${AIRFLOW_JWT_SECRET-}" ] && [ "${#AIRFLOW_JWT_SECRET}" -lt 64 ]; then
  echo "airflow-init: AIRFLOW_JWT_SECRET is ${#AIRFLOW_JWT_SECRET} characters; HS512 wants at least 64" >&2
  exit 1
fi

# --- resources (a warning, as in Airflow's own compose file: the stack runs, slowly or not at all)
mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo 2>/dev/null || true)
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || true)
disk_dir="${AIRFLOW_HOME:-/opt/airflow}"
[ -d "$disk_dir" ] || disk_dir=/
disk_kb=$(df -Pk "$disk_dir" 2>/dev/null | awk 'NR==2 {print $4}' || true)
if [ "${mem_kb:-0}" -lt $((4 * 1024 * 1024)) ]; then
  echo "airflow-init: WARNING: $((mem_kb / 1024)) MB of memory; at least 4 GB are needed (each embedding task loads a ~1 GB model)"
fi
if [ "${cpus:-0}" -lt 2 ]; then
  echo "airflow-init: WARNING: ${cpus} CPU(s); at least 2 are needed"
fi
if [ "${disk_kb:-0}" -lt $((10 * 1024 * 1024)) ]; then
  echo "airflow-init: WARNING: $((${disk_kb:-0} / 1024 / 1024)) GB of free disk; at least 10 GB are needed"
fi

echo "airflow-init: migrating the Airflow metadata database"
airflow db migrate

echo "airflow-init: upgrading the newsmon database"
newsmon db upgrade

# Only when missing: a slot count changed later in the UI survives the next `up`.
if airflow pools get newsmon_embed >/dev/null 2>&1; then
  echo "airflow-init: pool newsmon_embed exists; left as it is"
else
  echo "airflow-init: pool newsmon_embed (${NEWSMON_EMBED_POOL_SLOTS:-2} slot(s))"
  airflow pools set newsmon_embed "${NEWSMON_EMBED_POOL_SLOTS:-2}" "newsmon: concurrent embedding tasks (each loads the model)"
fi

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
