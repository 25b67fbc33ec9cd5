"""compose.yaml and the Dockerfile agree with the code: the same services as `cenas up`,
only settings that exist, healthy dependencies first, GPUs reserved for the workers, no
secret in either file. (No Docker engine runs here; `cenas up` is the tested twin.)"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from cenas.settings import Settings
from cenas_cli.up import SERVICES

ROOT = Path(__file__).resolve().parents[2]
INFRA = {"rabbitmq", "postgres"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""
    def sub(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in env:
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg
    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", sub, str(value))


def app_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if name not in INFRA}


def test_compose_runs_the_same_services_as_cenas_up(compose):
    modules = {svc["command"][2] for svc in app_services(compose).values()}
    assert modules == set(SERVICES) | {"worker"}
    for module in modules:
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        if spec.submodule_search_locations:  # a package runs with -m only through its __main__
            assert importlib.util.find_spec(f"{module}.__main__") is not None, module


def test_every_setting_in_compose_exists_and_parses(compose):
    fields = set(Settings.model_fields)
    env = {"RABBITMQ_PASSWORD": "r-secret", "POSTGRES_PASSWORD": "p-secret"}
    for name, svc in app_services(compose).items():
        values = {k: interpolate(v, env) for k, v in svc["environment"].items()}
        for key in values:
            assert key.startswith("CENAS_") and key.removeprefix("CENAS_").lower() in fields, f"{name}: unknown setting {key}"
        settings = Settings(_env_file=None, **{k.removeprefix("CENAS_").lower(): v for k, v in values.items() if v != ""})
        assert settings.broker_url.startswith("amqp://") and "@rabbitmq:5672" in settings.broker_url
        assert settings.database_url.startswith("postgresql://") and "@postgres:5432/" in settings.database_url
    gateway = app_services(compose)["gateway"]["environment"]
    assert gateway["CENAS_GATEWAY_HOST"] == "0.0.0.0"


def test_passwords_are_required_from_the_environment_never_written_down(compose):
    text = (ROOT / "compose.yaml").read_text()
    with pytest.raises(KeyError, match="RABBITMQ_PASSWORD"):
        interpolate(compose["services"]["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"], {})
    assert not re.search(r"(PASSWORD|PASS|TOKEN)\w*: +[^$\s]", text)  # every secret is a ${...} reference
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"(PASSWORD|TOKEN|SECRET)\w*=", dockerfile)


def test_services_wait_for_healthy_dependencies(compose):
    for name in INFRA | {"gateway"}:
        assert "healthcheck" in compose["services"][name], name
    for name, svc in app_services(compose).items():
        assert {dep: cond["condition"] for dep, cond in svc["depends_on"].items()} == {
            "rabbitmq": "service_healthy", "postgres": "service_healthy"}, name
    for name in INFRA:
        assert compose["services"][name]["volumes"], f"{name} keeps its state in a volume"


def test_the_worker_reserves_nvidia_gpus(compose):
    devices = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert compose["services"]["worker"]["command"] == ["python", "-m", "worker"]


def test_the_image_pins_the_projects_torch_and_ships_every_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    torch_pin = next(d for d in project["project"]["dependencies"] if d.startswith("torch"))
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"pip install --index-url \"$TORCH_INDEX_URL\" {torch_pin}" in dockerfile
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert re.search(rf"^COPY {package} \./{package}$", dockerfile, re.M), package
