"""Production settings come from the environment (docs/operations.md#production) and refuse to start unsafe.

Each case starts a fresh process: settings are read once, at start-up.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
REAL_KEY = "k3V9m2Qx7Lr0Tz5Wp8Yb1Nc4Hd6Jf9Sg2Ua5Xe8Rv1Oi4Pl7Km0Bn3Cq6Dw9Et2"
# The production environment docs/operations.md documents, behind a proxy that ends TLS.
PRODUCTION = {
    "REPLYDESK_ENV": "production",
    "SECRET_KEY": REAL_KEY,
    "ALLOWED_HOSTS": "replydesk.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://replydesk.example.com",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DATABASE_URL": "postgres://replydesk:secret@db.internal:5432/replydesk",
    "REDIS_URL": "redis://redis.internal:6379/0",
}
# What a request through the proxy and a probe on the pod's own address get back.
REQUESTS = """
import json
from django.test import Client
client = Client()
host = {"HTTP_HOST": "replydesk.example.com"}
proxied = client.get("/console/login/", HTTP_X_FORWARDED_PROTO="https", **host)
plain = client.get("/console/login/", **host)
probe = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
print(json.dumps({
    "proxied": [proxied.status_code, proxied.headers.get("Strict-Transport-Security"),
                proxied.cookies["csrftoken"]["secure"] if "csrftoken" in proxied.cookies else None],
    "plain": [plain.status_code, plain.headers.get("Location")],
    "probe": [probe.status_code, probe.content.decode()],
}))
"""


def run(args: list[str], environment: dict, var_dir: Path) -> subprocess.CompletedProcess:
    """`python <args>` in a process of its own, with only `environment` set (and no .env beside manage.py)."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "REPLYDESK_VAR_DIR": str(var_dir),
           "DJANGO_SETTINGS_MODULE": "config.settings", **environment}
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=300)


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("secret_key", [
    "",
    "too-short-0123456789",
    "dev-only-insecure-key-change-me-in-production-0123456789",  # the public key the settings once fell back to
    "django-insecure-" + REAL_KEY,
    "a" * 64,
])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, secret_key):
    result = run(["manage.py", "check", "--deploy"], {**PRODUCTION, "SECRET_KEY": secret_key}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is missing or too weak for REPLYDESK_ENV=production" in result.stderr


def test_production_refuses_to_start_with_debug_on(tmp_path):
    result = run(["manage.py", "check"], {**PRODUCTION, "DEBUG": "true"}, tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be off with REPLYDESK_ENV=production" in result.stderr


def test_behind_the_tls_proxy_responses_carry_hsts_and_plain_http_is_redirected_but_probes_answer(tmp_path):
    environment = {key: value for key, value in PRODUCTION.items() if key != "DATABASE_URL"}
    result = run(["manage.py", "shell", "-c", REQUESTS], environment, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["proxied"] == [200, "max-age=31536000; includeSubDomains; preload", True]
    assert seen["plain"] == [301, "https://replydesk.example.com/console/login/"]
    assert seen["probe"] == [200, '{"status": "ok"}']


def test_development_keeps_one_random_key_in_the_var_dir_across_restarts(tmp_path):
    show_key = ["-c", "from django.conf import settings; print(settings.SECRET_KEY)"]
    first = run(show_key, {}, tmp_path)
    again = run(show_key, {}, tmp_path)
    assert first.returncode == 0, first.stderr

    key = first.stdout.strip()
    assert again.stdout.strip() == key
    assert len(key) >= 50 and "insecure" not in key
    assert (tmp_path / "secret_key").read_text().strip() == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert run(show_key, {}, tmp_path / "elsewhere").stdout.strip() != key
