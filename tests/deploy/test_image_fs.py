"""The image recipe, proven without Docker: deploy/Dockerfile's build stage is followed into a
clean folder (arrears_dev.image_fs), only its virtual environment is kept, as in the final
stage, and case-service starts from it against the real PostgreSQL and broker."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from arrears_dev.embedded.ports import free_port
from arrears_dev.image_fs import build_image_fs, build_stage

from .helpers import REPO


@pytest.fixture(scope="module")
def case_service_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image")
    return build_image_fs(out, "case-service")


def _image_env(venv: Path, **settings: str) -> dict[str, str]:
    """A container's environment: the image's PATH, none of the workspace's Python paths."""
    keep = {"HOME", "LANG", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **settings}


def test_the_build_stage_runs_the_two_uv_sync_phases_for_the_package() -> None:
    runs = [rest for kind, rest in build_stage(REPO / "deploy" / "Dockerfile") if kind == "RUN"]

    assert len(runs) == 2
    assert all("uv sync --frozen --no-dev" in run and "--package ${PACKAGE}" in run for run in runs)


def test_the_image_holds_the_service_but_no_development_tooling(case_service_image: Path) -> None:
    def imports(module: str) -> bool:
        command = [str(case_service_image / "bin" / "python"), "-c", f"import {module}"]
        env = _image_env(case_service_image)
        return subprocess.run(command, env=env, cwd="/", capture_output=True).returncode == 0

    assert [p.name for p in case_service_image.parent.iterdir()] == [".venv"]
    assert imports("case_service")
    assert imports("case_service.relay")
    assert not imports("arrears_dev")
    assert not imports("contact_service")


@pytest.fixture
def running_case_service(
    case_service_image: Path, database_url: str, kafka_bootstrap_servers: str, tmp_path: Path
) -> Iterator[str]:
    port = free_port()
    env = _image_env(
        case_service_image,
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap_servers,
        JWT_SECRET="image-test-secret-long-enough-for-hs256-signing",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        LOG_JSON="false",
    )
    log_path = tmp_path / "case-service.log"
    with log_path.open("wb") as log:
        # As the compose one-shot and the Kubernetes Job do: the image migrates its database.
        migrated = subprocess.run(
            ["python", "-m", "case_service", "migrate"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
            timeout=120,
            check=False,
        )
        assert migrated.returncode == 0, log_path.read_text()[-3000:]
        process = subprocess.Popen(
            ["python", "-m", "case_service"], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_case_service_starts_from_the_image_and_answers_healthz(
    running_case_service: str, tmp_path: Path
) -> None:
    deadline = time.monotonic() + 60
    status = None
    while status != 200 and time.monotonic() < deadline:
        try:
            status = httpx.get(f"{running_case_service}/healthz", timeout=1).status_code
        except httpx.HTTPError:
            time.sleep(0.2)

    assert status == 200, (tmp_path / "case-service.log").read_text()[-3000:]
    assert httpx.get(f"{running_case_service}/readyz", timeout=5).status_code == 200
