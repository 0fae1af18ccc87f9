"""docker-compose.yml starts a stack that can work: what each service waits for exists and can become
healthy or finish, every variable is documented in .env.example, secrets are required, and the names that
several files must agree on (work pool, databases, hosts) agree. No Docker needed: the files are parsed.

Each check returns the problems it finds, so the tests at the end can show that a broken copy is caught.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEGFLOW_SERVICES = ("migrate", "deploy", "worker")
BI_SERVICES = ("bi-user", "metabase")
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alternative}, $NAME
INTERPOLATION = re.compile(
    r"\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example_names() -> dict[str, str]:
    """Variables listed in .env.example (set or commented out) and their example values."""
    listed = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "=" in line:
            name, value = line.split("=", 1)
            listed[name.lstrip("# ").strip()] = value.strip()
    return listed


def strings(node, path: str = ""):
    """Every string value in the parsed file, with where it is (compose interpolates them all)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def interpolations(compose: dict):
    """(where, name, operator, argument) for every ${...} compose substitutes; $$ is a literal $."""
    for where, text in strings(compose):
        for match in INTERPOLATION.finditer(text.replace("$$", "")):
            name = match["braced"] or match["bare"]
            yield where, name, match["op"] or "", match["arg"] or ""


def substituted(text: str) -> str:
    """The text as compose makes it with .env copied from .env.example and its blank secrets filled in."""
    values = {
        name: value or ("example-secret" if SECRET.search(name) else "") for name, value in env_example_names().items()
    }

    def value_of(match: re.Match) -> str:
        name = match["braced"] or match["bare"]
        if values.get(name):
            return values[name]
        return match["arg"] if match["op"] in (":-", "-") else ""

    return "$".join(INTERPOLATION.sub(value_of, part) for part in text.split("$$"))


def environment(service: dict) -> dict[str, str]:
    """A service's environment after substitution."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: substituted(str(value)) for key, value in env.items()}


def command_text(service: dict) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def depends_on(service: dict) -> dict[str, str]:
    needs = service.get("depends_on") or {}
    if isinstance(needs, list):
        return {name: "service_started" for name in needs}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in needs.items()}


def is_one_shot(service: dict) -> bool:
    long_running = ("server start", "worker start")
    text = command_text(service)
    return service.get("restart") == "no" and bool(text) and not any(word in text for word in long_running)


def init_sql_databases() -> set[str]:
    compose = load_compose()
    created = set()
    for source in init_sql_sources(compose):
        created |= set(re.findall(r"^\s*create database (\w+)", (ROOT / source).read_text(), re.MULTILINE))
    return created


def init_sql_sources(compose: dict) -> list[str]:
    mounts = [volume.split(":") for volume in compose["services"]["postgres"].get("volumes", [])]
    return [m[0] for m in mounts if len(m) > 1 and m[1].startswith("/docker-entrypoint-initdb.d")]


# --- checks: each returns a list of problems ----------------------------------------------------------------


def problems_with_dependencies(compose: dict) -> list[str]:
    services = compose["services"]
    problems = []
    for name, service in services.items():
        for needed, condition in depends_on(service).items():
            if needed not in services:
                problems.append(f"{name} depends on {needed}, which is not a service")
            elif condition == "service_healthy" and "healthcheck" not in services[needed]:
                problems.append(f"{name} waits for {needed} to be healthy, but {needed} has no healthcheck")
            elif condition == "service_completed_successfully" and not is_one_shot(services[needed]):
                problems.append(
                    f"{name} waits for {needed} to complete, but {needed} is not a one-shot "
                    '(restart: "no" and a command that ends)'
                )
            elif not services[name].get("profiles") and services[needed].get("profiles"):
                problems.append(f"{name} starts without a profile but depends on {needed}, which needs one")
    return problems


def problems_with_variables(compose: dict, listed: dict[str, str]) -> list[str]:
    problems = []
    for where, name, op, arg in interpolations(compose):
        if name not in listed:
            problems.append(f"{where} uses ${{{name}}}, which .env.example does not list")
        elif SECRET.search(name):
            if op in (":-", "-") and arg:
                problems.append(f"{where} gives the secret {name} a default")
            elif op != ":?" and not secret_is_checked_at_run_time(compose, where, name):
                problems.append(f"{where} uses the secret {name} without ${{{name}:?...}}")
    for name, value in listed.items():
        if SECRET.search(name) and value:
            problems.append(f".env.example gives the secret {name} a value; leave it blank")
    return problems


def secret_is_checked_at_run_time(compose: dict, where: str, name: str) -> bool:
    """A secret only a profile's service needs may be checked by that service's shell instead of by compose
    (which interpolates the services of every profile, so a ${VAR:?} would stop everyone's `up`)."""
    if not where.startswith("services."):
        return False
    service = compose["services"][where.split(".")[1]]
    shell = command_text(service).replace("$$", "$")
    return bool(service.get("profiles")) and f"${{{name}:?" in shell


def problems_with_the_image(compose: dict) -> list[str]:
    problems = []
    for name in (*SEGFLOW_SERVICES, "bi-user"):
        build = compose["services"][name].get("build")
        if isinstance(build, str):
            build = {"context": build}
        if not build or build.get("context") != "." or build.get("dockerfile", "Dockerfile") != "Dockerfile":
            problems.append(f"{name} is not built from the repository's Dockerfile")
    # The worker loads flows from the folder `prefect deploy` ran in (no pull steps): the same image.
    deploy, worker = compose["services"]["deploy"], compose["services"]["worker"]
    if (deploy.get("image"), deploy.get("build")) != (worker.get("image"), worker.get("build")):
        problems.append("deploy and worker run different images; the worker would not find the deployed checkout")
    return problems


def problems_with_urls(compose: dict) -> list[str]:
    services = compose["services"]
    problems = []
    expected_hosts = {
        "SEGFLOW_DATABASE_URL": ("postgres", 5432),
        "PREFECT_API_DATABASE_CONNECTION_URL": ("postgres", 5432),
        "PREFECT_API_URL": ("prefect-server", 4200),
    }
    for name, service in services.items():
        for variable, value in environment(service).items():
            if variable in expected_hosts:
                host, port = expected_hosts[variable]
                url = urlsplit(value)
                if (url.hostname, url.port) != (host, port) or host not in services:
                    problems.append(f"{name}: {variable} points at {url.hostname}:{url.port}, not {host}:{port}")
    for name in SEGFLOW_SERVICES:
        if "SEGFLOW_DATABASE_URL" not in environment(services[name]):
            problems.append(f"{name} has no SEGFLOW_DATABASE_URL: it would start an embedded database")
    for name in ("deploy", "worker"):
        if "PREFECT_API_URL" not in environment(services[name]):
            problems.append(f"{name} has no PREFECT_API_URL: it would talk to a temporary local server")
    return problems


def problems_with_databases(compose: dict) -> list[str]:
    problems = []
    created = init_sql_databases()
    server_env = environment(compose["services"]["prefect-server"])
    prefect_db = urlsplit(server_env["PREFECT_API_DATABASE_CONNECTION_URL"]).path.lstrip("/")
    if prefect_db not in created:
        problems.append(f"prefect-server uses database {prefect_db!r}; the init SQL creates {sorted(created)}")
    metabase_db = environment(compose["services"]["metabase"]).get("MB_DB_DBNAME")
    if metabase_db not in created:
        problems.append(f"metabase uses database {metabase_db!r}; the init SQL creates {sorted(created)}")
    return problems


def work_pools_named(compose: dict) -> dict[str, set[str]]:
    """Work pool names each of deploy and worker uses."""
    deploy = command_text(compose["services"]["deploy"])
    worker = compose["services"]["worker"]["command"]
    return {
        "deploy": set(re.findall(r"work-pool (?:create|inspect) (\S+)", deploy)),
        "worker": {worker[worker.index("--pool") + 1]} if "--pool" in worker else set(),
    }


def prefect_yaml_pools() -> set[str]:
    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    return {d["work_pool"]["name"] for d in config["deployments"]}


# --- the real files ----------------------------------------------------------------------------------------


def test_the_stack_has_its_services():
    services = load_compose()["services"]
    expected = {"postgres", "prefect-server", *SEGFLOW_SERVICES, *BI_SERVICES}
    assert expected <= set(services), f"missing services: {sorted(expected - set(services))}"


def test_postgres_is_checked_with_pg_isready_and_keeps_its_data_in_a_named_volume():
    compose = load_compose()
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    data = [v for v in postgres["volumes"] if v.split(":")[1] == "/var/lib/postgresql/data"]
    assert data and data[0].split(":")[0] in compose["volumes"], "postgres data is not on a named volume"


def test_every_dependency_can_be_met():
    assert problems_with_dependencies(load_compose()) == []


def test_the_start_order_is_postgres_migrate_and_server_then_deploy_then_worker():
    services = load_compose()["services"]
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    assert depends_on(services["prefect-server"]) == {"postgres": "service_healthy"}
    assert depends_on(services["deploy"]) == {
        "prefect-server": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert depends_on(services["worker"]) == {"deploy": "service_completed_successfully"}


def test_every_variable_is_in_env_example_and_secrets_are_required():
    assert problems_with_variables(load_compose(), env_example_names()) == []


def test_env_example_does_not_set_a_database_url():
    # The embedded quick start reads .env too; an uncommented URL would point it at the compose stack.
    lines = (ROOT / ".env.example").read_text().splitlines()
    assert not [line for line in lines if line.strip().startswith("SEGFLOW_DATABASE_URL=")]


def test_segflow_services_build_from_the_dockerfile_that_pip_installs_the_project():
    assert problems_with_the_image(load_compose()) == []
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    install = re.search(r'^RUN pip install "?\.(\[(?P<extras>[a-z,]+)\])?"?(\s|$)', dockerfile, re.MULTILINE)
    assert install, "the Dockerfile does not pip install ."
    # The dask profile's scheduler and workers run this image: it carries the [dask] extra.
    assert "dask" in (install["extras"] or "").split(",")
    # The checkout stays the working directory: the deployments' entrypoint is relative to it.
    assert re.search(r"^WORKDIR (\S+)\nCOPY \. \.$", dockerfile, re.MULTILINE)


def test_dockerignore_keeps_secrets_and_local_clutter_out_but_not_what_pip_needs():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv"} <= ignored
    needed = {"pyproject.toml", "README.md", "segflow", "sql", "flows", "deployments"}
    assert not needed & ignored, f".dockerignore drops what the image needs: {sorted(needed & ignored)}"


def test_deploy_and_worker_use_the_work_pool_of_prefect_yaml():
    pools = work_pools_named(load_compose())
    assert pools["deploy"] == pools["worker"] == prefect_yaml_pools(), pools


def test_deploy_registers_every_deployment_of_prefect_yaml():
    deploy = command_text(load_compose()["services"]["deploy"])
    match = re.search(r"prefect --no-prompt deploy --all --prefect-file (\S+)", deploy)
    assert match and (ROOT / match[1]).exists(), deploy


def test_urls_point_at_the_services():
    assert problems_with_urls(load_compose()) == []


def test_prefect_and_metabase_databases_are_the_ones_the_mounted_init_sql_creates():
    compose = load_compose()
    sources = init_sql_sources(compose)
    assert sources, "postgres mounts no init SQL"
    for volume in compose["services"]["postgres"]["volumes"]:
        if "/docker-entrypoint-initdb.d" in volume:
            assert volume.endswith(":ro"), f"init SQL is mounted writable: {volume}"
            assert (ROOT / volume.split(":")[0]).is_file(), f"mounted init SQL does not exist: {volume}"
    assert problems_with_databases(compose) == []


def test_prefect_server_is_healthchecked_and_published():
    server = load_compose()["services"]["prefect-server"]
    assert "server start --host 0.0.0.0" in command_text(server)
    assert "http://localhost:4200/api/health" in " ".join(server["healthcheck"]["test"])
    assert any(str(port).endswith(":4200:4200") for port in server["ports"])
    assert environment(server)["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_the_worker_keeps_models_and_reports_on_a_named_volume():
    compose = load_compose()
    worker = compose["services"]["worker"]
    home = environment(worker)["SEGFLOW_HOME"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in worker["volumes"]}
    assert mounted.get(home) in compose["volumes"], f"SEGFLOW_HOME {home} is not on a named volume: {mounted}"


def test_bi_services_start_only_with_their_profile():
    services = load_compose()["services"]
    for name in BI_SERVICES:
        assert services[name].get("profiles") == ["bi"], f"{name} would start with a plain `docker compose up`"
    assert "create-bi-user" in command_text(services["bi-user"])
    assert depends_on(services["bi-user"]) == {"migrate": "service_completed_successfully"}


def test_dask_services_start_only_with_their_profile_and_work_like_the_worker():
    services = load_compose()["services"]
    worker = services["worker"]
    for name in ("dask-scheduler", "dask-worker"):
        assert services[name].get("profiles") == ["dask"], f"{name} would start with a plain `docker compose up`"
        assert services[name]["image"] == worker["image"]
    assert "dask scheduler --host 0.0.0.0 --port 8786" in command_text(services["dask-scheduler"])
    assert "dask worker tcp://dask-scheduler:8786 --nthreads 1" in command_text(services["dask-worker"])
    assert depends_on(services["dask-worker"]) == {
        "dask-scheduler": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    # Partitions open the database, load the worker's model artifacts and report to the same Prefect server.
    dask_env, worker_env = environment(services["dask-worker"]), environment(worker)
    for key in ("SEGFLOW_DATABASE_URL", "SEGFLOW_HOME", "PREFECT_API_URL"):
        assert dask_env[key] == worker_env[key], key
    assert services["dask-worker"]["volumes"] == worker["volumes"]


def test_env_example_says_how_the_worker_reaches_the_dask_profile():
    names = env_example_names()
    assert names["SEGFLOW_DASK_ADDRESS"] == "" and names["SEGFLOW_PARTITIONS"] == "1"
    text = (ROOT / ".env.example").read_text()
    assert "COMPOSE_PROFILES=dask" in text and "SEGFLOW_DASK_ADDRESS=tcp://dask-scheduler:8786" in text


# --- the checks catch broken copies ------------------------------------------------------------------------


def broken(edit) -> dict:
    compose = copy.deepcopy(load_compose())
    edit(compose["services"])
    return compose


def test_a_healthy_wait_on_a_service_without_healthcheck_is_caught():
    compose = broken(lambda s: s["prefect-server"].pop("healthcheck"))
    assert problems_with_dependencies(compose) == [
        "deploy waits for prefect-server to be healthy, but prefect-server has no healthcheck"
    ]


def test_a_completion_wait_on_a_long_running_service_is_caught():
    compose = broken(lambda s: s["migrate"].update(restart="unless-stopped"))
    problems = problems_with_dependencies(compose)
    assert problems and all("waits for migrate to complete" in p for p in problems), problems


def test_a_default_service_depending_on_a_profiled_one_is_caught():
    compose = broken(lambda s: s["worker"]["depends_on"].update({"bi-user": {"condition": "service_started"}}))
    assert problems_with_dependencies(compose) == [
        "worker starts without a profile but depends on bi-user, which needs one"
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: s["postgres"]["environment"].update(POSTGRES_DB="${SEGFLOW_UNLISTED:-x}"),
            "services.postgres.environment.POSTGRES_DB uses ${SEGFLOW_UNLISTED}, which .env.example does not list",
        ),
        (
            lambda s: s["postgres"]["environment"].update(POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-changeme}"),
            "services.postgres.environment.POSTGRES_PASSWORD gives the secret POSTGRES_PASSWORD a default",
        ),
        (
            lambda s: s["postgres"]["environment"].update(POSTGRES_PASSWORD="${POSTGRES_PASSWORD}"),
            "services.postgres.environment.POSTGRES_PASSWORD uses the secret POSTGRES_PASSWORD without "
            "${POSTGRES_PASSWORD:?...}",
        ),
        (
            lambda s: s["bi-user"].update(command=["segflow", "db", "create-bi-user", "x"]),
            "services.bi-user.environment.SEGFLOW_BI_PASSWORD uses the secret SEGFLOW_BI_PASSWORD without "
            "${SEGFLOW_BI_PASSWORD:?...}",
        ),
    ],
    ids=["unlisted", "secret-default", "secret-optional", "profile-secret-unchecked"],
)
def test_undocumented_variables_and_optional_secrets_are_caught(edit, expected):
    assert problems_with_variables(broken(edit), env_example_names()) == [expected]


def test_a_secret_with_an_example_value_is_caught():
    listed = {**env_example_names(), "POSTGRES_PASSWORD": "hunter2"}
    assert problems_with_variables(load_compose(), listed) == [
        ".env.example gives the secret POSTGRES_PASSWORD a value; leave it blank"
    ]


def test_a_worker_on_another_image_is_caught():
    compose = broken(lambda s: s["worker"].update(image="prefecthq/prefect:3.8.8-python3.11", build=None))
    assert problems_with_the_image(compose) == [
        "worker is not built from the repository's Dockerfile",
        "deploy and worker run different images; the worker would not find the deployed checkout",
    ]


def test_a_database_url_on_another_host_is_caught():
    compose = broken(
        lambda s: s["migrate"].update(
            environment={**environment(s["migrate"]), "SEGFLOW_DATABASE_URL": "postgresql://u:p@localhost:5432/segflow"}
        )
    )
    assert problems_with_urls(compose) == ["migrate: SEGFLOW_DATABASE_URL points at localhost:5432, not postgres:5432"]


def test_a_prefect_database_the_init_sql_does_not_create_is_caught():
    def rename(services):
        env = environment(services["prefect-server"])
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = env["PREFECT_API_DATABASE_CONNECTION_URL"].replace(
            "/prefect", "/orion"
        )
        services["prefect-server"]["environment"] = env

    problems = problems_with_databases(broken(rename))
    assert len(problems) == 1 and problems[0].startswith("prefect-server uses database 'orion'"), problems


def test_a_worker_on_another_pool_is_caught():
    compose = broken(lambda s: s["worker"].update(command=["prefect", "worker", "start", "--pool", "default"]))
    assert work_pools_named(compose)["worker"] != prefect_yaml_pools()
