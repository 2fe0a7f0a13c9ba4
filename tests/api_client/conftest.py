"""A live ReplyDesk (daphne and a real worker that imports and trains) and a Python client generated from the schema
that server serves, with openapi-python-client, as a client author would generate one."""

import importlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.conftest import (  # noqa: F401 (fixtures the live server builds on)
    broker_url,
    start_worker,
    worker_env,
)
from tests.live_servers import daphne_server

TINY_TRAINING = {"epochs": 1, "batch_size": 8, "max_length": 32}
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "replydesk_client"


@pytest.fixture
def replydesk_server(worker_env, start_worker, tmp_path):  # noqa: F811
    """ReplyDesk's base URL: daphne on the test database, with a worker that imports and trains (tiny config)."""
    worker_env["TRAINING_CONFIG_OVERRIDES"] = json.dumps(TINY_TRAINING)
    worker = start_worker()
    try:
        with daphne_server(worker_env, tmp_path / "daphne.log") as base:
            yield base
    finally:
        print(worker.log()[-4000:])


def generate_client(schema: bytes, workdir: Path) -> str:
    """Generate the client package from `schema` under `workdir`; returns what the generator printed."""
    (workdir / "schema.yaml").write_bytes(schema)
    # No post hooks: by default they run ruff from PATH to format the package, which is imported, not read.
    (workdir / "generator.yaml").write_text("post_hooks: []\n")
    generated = subprocess.run(
        [GENERATOR, "generate", "--path", "schema.yaml", "--output-path", PACKAGE, "--meta", "none",
         "--config", "generator.yaml"],
        cwd=workdir, capture_output=True, text=True, timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return generated.stdout + generated.stderr


@pytest.fixture
def generated_client(replydesk_server, tmp_path, monkeypatch):
    """The package openapi-python-client generates from the live server's /api/schema/, imported from tmp_path."""
    with urllib.request.urlopen(f"{replydesk_server}/api/schema/", timeout=30) as response:
        schema = response.read()
    printed = generate_client(schema, tmp_path)
    assert "Warning" not in printed, f"the generator skipped parts of the schema:\n{printed}"
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("models", "types"):  # as attributes of the package, beside Client and AuthenticatedClient
        importlib.import_module(f"{PACKAGE}.{module}")
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def operation(generated_client):
    """The generated module of an operation, found by its operationId wherever the generator filed it (by tag)."""
    api = Path(generated_client.__file__).parent / "api"

    def find(operation_id: str) -> ModuleType:
        [module] = api.glob(f"*/{operation_id}.py")
        return importlib.import_module(f"{PACKAGE}.api.{module.parent.name}.{operation_id}")

    return find
