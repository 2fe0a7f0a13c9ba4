"""ReplyDesk settings.

The embedded default needs no server: SQLite, a Celery broker on a SQLite file, Channels'
in-memory layer. DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker, channel layer,
cache) switch the same code to N web processes and N workers.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = BASE_DIR / env("REPLYDESK_VAR_DIR", default="var")  # a relative path is under BASE_DIR
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Environment: development (the default: `make run`, `make test`) or production -------
# Production takes the safe defaults of the Security section and refuses to start without a real SECRET_KEY.
REPLYDESK_ENV = env("REPLYDESK_ENV", default="development")
if REPLYDESK_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"REPLYDESK_ENV is {REPLYDESK_ENV!r}; it is development or production.")
PRODUCTION = REPLYDESK_ENV == "production"
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off with REPLYDESK_ENV=production: its error pages show settings.")


def _is_real_secret_key(key: str) -> bool:
    """Django's own bar (security.W009: 50 characters, 5 different ones, not a startproject key), and no placeholder."""
    return len(key) >= 50 and len(set(key)) >= 5 and not key.startswith("django-insecure") and "change-me" not in key


def _development_secret_key(path: Path) -> str:
    """A random key made on the first start and kept in VAR_DIR (mode 0600), so sessions survive restarts."""
    if not path.exists():
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(get_random_secret_key())
        try:
            os.link(draft, path)  # atomic: a process starting beside this one keeps the key that was made first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="")
if PRODUCTION and not _is_real_secret_key(SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or too weak for REPLYDESK_ENV=production: set at least 50 random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
SECRET_KEY = SECRET_KEY or _development_secret_key(VAR_DIR / "secret_key")
# Production serves only the hosts it is told about.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS",
                         default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    "tenants",
    "billing",
    "accounts",
    "webhooks",
    "bots",
    "knowledge",
    "training",
    "conversations",
    "handoff",
    "analytics",
    "widget",
    "console",
    "demo",
]

MIDDLEWARE = [
    # First: probes speak plain HTTP to the pod's own address, before the HTTPS redirect and the host check.
    "config.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and auth: a refused request costs nothing more.
    "tenants.api.throttling.ApiRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'replydesk.sqlite3'}")}
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
if DATABASE_IS_SQLITE:
    # WAL lets the web process read while the worker writes; the timeout rides out write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that worker processes started by integration tests share it;
    # one per test session, so that concurrent sessions on one machine do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-replydesk-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Connections outlive a request or a socket's database call: reopening costs more than the queries
# (for SQLite, closing the last connection checkpoints the WAL: ~4 ms of every widget answer).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis or the embedded default: broker, channel layer, cache -----------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No client read timeout: a consumer blocks on the layer (BZPOPMIN, 5 s) and redis-py 8's default
            # 5 s socket timeout would kill idle sockets with "Timeout reading" (django/channels_redis#422).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                       "prefix": env("CHANNELS_PREFIX", default="replydesk")},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CACHES["shared"] = CACHES["default"]
else:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
    CHANNEL_LAYERS = {"default": {"BACKEND": "core.channel_layers.SweepThrottledInMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # What a worker leaves for the web processes (the dashboard's question groups): they share the disk, as they
    # share the broker's file.
    CACHES["shared"] = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                        "LOCATION": str(VAR_DIR / "shared-cache")}

# --- Celery -----------------------------------------------------------------------------
# Task state lives in our own rows (Import, TrainingRun), so Celery keeps no results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "console:login"
INVITATION_TTL = timedelta(days=env.int("INVITATION_TTL_DAYS", default=7))

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.IsTenantMember"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
# Rate limits (token buckets, apart from plan quotas): a burst of BURST requests, refilled at RATE
# per second; per client address on every /api/v1 request, and per API key.
API_RATE_LIMIT_ADDRESS_RATE = env.float("API_RATE_LIMIT_ADDRESS_RATE", default=20.0)
API_RATE_LIMIT_ADDRESS_BURST = env.int("API_RATE_LIMIT_ADDRESS_BURST", default=200)
API_RATE_LIMIT_KEY_RATE = env.float("API_RATE_LIMIT_KEY_RATE", default=10.0)
API_RATE_LIMIT_KEY_BURST = env.int("API_RATE_LIMIT_KEY_BURST", default=100)
# Proxies in front of the web processes that append to X-Forwarded-For (0: use REMOTE_ADDR).
API_RATE_LIMIT_TRUSTED_PROXIES = env.int("API_RATE_LIMIT_TRUSTED_PROXIES", default=0)
SPECTACULAR_SETTINGS = {
    "TITLE": "ReplyDesk API",
    "DESCRIPTION": "Tenants, members, API keys, bots, ticket imports, training and answers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON only (uploads declare multipart themselves): one content type per body is what
    # generated clients can call.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "ENUM_NAME_OVERRIDES": {"SubscriptionStatusEnum": "billing.models.SubscriptionStatus",
                            "DecisionActionEnum": "conversations.rules.DECISION_ACTIONS",
                            "DecisionRuleEnum": "conversations.rules.DECISION_RULES"},
}

# --- Security: HTTPS, cookies, headers, sign-in throttling ------------------------------
# Production defaults are the safe ones; each can be changed (docs/operations.md#production).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
# Behind a proxy that ends TLS: the header it sets to "https" (e.g. X-Forwarded-Proto). Only where that proxy
# always sets or strips the header, or any client could claim HTTPS.
_PROXY_SSL_HEADER = env("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER
                           else None)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Failed sign-ins allowed per account (the email tried) and per client address within the window, then refused.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)

# --- Content Security Policy: everything is served from here, nothing from a CDN. ------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", "ws:", "wss:"],
        "frame-ancestors": ["'self'"],
    }
}

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Product storage and limits ---------------------------------------------------------
# Raw uploads are private: a per-tenant path outside anything served over HTTP.
UPLOADS_ROOT = Path(env("UPLOADS_ROOT", default=str(VAR_DIR / "uploads")))
ARTIFACTS_ROOT = Path(env("ARTIFACTS_ROOT", default=str(VAR_DIR / "artifacts")))
BOTS_BASE_MODEL = env("BOTS_BASE_MODEL", default="")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"faiss.loader": {"level": "WARNING"}},
}

CELERY_BEAT_SCHEDULE = {
    "purge-stale-invitations": {"task": "accounts.tasks.purge_stale_invitations_task", "schedule": 24 * 3600},
}

# --- Training ---------------------------------------------------------------------------
# A running run that has not reported within this lease lost its worker and is failed.
TRAINING_LEASE_SECONDS = env.int("TRAINING_LEASE_SECONDS", default=120)
MODEL_VERSION_RETENTION = env.int("MODEL_VERSION_RETENTION", default=5)
# Overrides of ml.training.TrainingConfig (tests use tiny runs; production keeps the defaults).
TRAINING_CONFIG_OVERRIDES = env.json("TRAINING_CONFIG_OVERRIDES", default={})
CELERY_BEAT_SCHEDULE["fail-abandoned-training-runs"] = {
    "task": "training.tasks.fail_abandoned_training_runs_task",
    "schedule": 60,
}
# A run still queued this long after its task was sent is sent again: the broker lost the message (Redis
# restarted empty). Sent again at most once per this period; a second delivery finds the run claimed.
TRAINING_REQUEUE_AFTER_SECONDS = env.int("TRAINING_REQUEUE_AFTER_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["requeue-unclaimed-training-runs"] = {
    "task": "training.tasks.requeue_unclaimed_training_runs_task",
    "schedule": 30,
}

# --- Ticket imports ---------------------------------------------------------------------
# Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE stream to a temporary file, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=500_000)
# A file with more invalid rows than this share is rejected whole.
IMPORT_BAD_ROW_THRESHOLD = env.float("IMPORT_BAD_ROW_THRESHOLD", default=0.2)
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=2000)
IMPORT_MAX_ROW_ERRORS = 1000
# A running import whose worker has not reported for this long lost it, and is read again from the start.
IMPORT_STALE_AFTER_S = env.int("IMPORT_STALE_AFTER_S", default=120)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE["recover-stale-imports"] = {"task": "knowledge.tasks.recover_stale_imports_task", "schedule": 60}
# An import still pending this long after its task was sent is sent again (the broker lost it), at most once
# per this period; a second delivery finds the import claimed.
IMPORT_REQUEUE_AFTER_SECONDS = env.int("IMPORT_REQUEUE_AFTER_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["requeue-unclaimed-imports"] = {"task": "knowledge.tasks.requeue_unclaimed_imports_task",
                                                     "schedule": 30}

# --- Answering: model serving, the widget socket, rate limits ----------------------------
# Each web process keeps at most this many loaded bot models (and about this many bytes).
BOTS_MODEL_CACHE_MAX_MODELS = env.int("BOTS_MODEL_CACHE_MAX_MODELS", default=8)
BOTS_MODEL_CACHE_MAX_BYTES = env.int("BOTS_MODEL_CACHE_MAX_BYTES", default=2 * 2**30)
# Messages arriving within BOTS_MICRO_BATCH_WAIT_MS share one encoder pass (up to BOTS_MICRO_BATCH_MAX).
BOTS_MICRO_BATCHING = env.bool("BOTS_MICRO_BATCHING", default=True)
BOTS_MICRO_BATCH_MAX = env.int("BOTS_MICRO_BATCH_MAX", default=64)
BOTS_MICRO_BATCH_WAIT_MS = env.float("BOTS_MICRO_BATCH_WAIT_MS", default=4.0)
BOTS_INFERENCE_THREADS = env.int("BOTS_INFERENCE_THREADS", default=4)
# Versions with an exported encoder.onnx are served by ONNX Runtime (else torch), with this many
# intra-op threads per model: one leaves the other core to the event loop and the database thread.
BOTS_SERVE_ONNX = env.bool("BOTS_SERVE_ONNX", default=True)
BOTS_ONNX_THREADS = env.int("BOTS_ONNX_THREADS", default=1)
BOTS_ANSWER_TOP_K = env.int("BOTS_ANSWER_TOP_K", default=5)
BOTS_INFERENCE_TIMEOUT_SECONDS = env.float("BOTS_INFERENCE_TIMEOUT_SECONDS", default=60.0)
# The widget's signed visitor token lives this long; a visitor back after that starts afresh.
VISITOR_TOKEN_MAX_AGE_SECONDS = env.int("VISITOR_TOKEN_MAX_AGE_SECONDS", default=30 * 24 * 3600)
WIDGET_MAX_FRAME_BYTES = env.int("WIDGET_MAX_FRAME_BYTES", default=16 * 1024)
WIDGET_MAX_MESSAGE_CHARS = env.int("WIDGET_MAX_MESSAGE_CHARS", default=2000)
WIDGET_IDLE_TIMEOUT_SECONDS = env.float("WIDGET_IDLE_TIMEOUT_SECONDS", default=600.0)
# Token buckets: a burst of CAPACITY, refilled at RATE per second (per visitor, per bot).
WIDGET_VISITOR_RATE = env.float("WIDGET_VISITOR_RATE", default=1.0)
WIDGET_VISITOR_BURST = env.int("WIDGET_VISITOR_BURST", default=8)
WIDGET_BOT_RATE = env.float("WIDGET_BOT_RATE", default=200.0)
WIDGET_BOT_BURST = env.int("WIDGET_BOT_BURST", default=400)

# --- Handoff: agents on /ws/agent/ ------------------------------------------------------
HANDOFF_MAX_MESSAGE_CHARS = env.int("HANDOFF_MAX_MESSAGE_CHARS", default=4000)
HANDOFF_MAX_FRAME_BYTES = env.int("HANDOFF_MAX_FRAME_BYTES", default=32 * 1024)
# An agent whose socket dropped keeps their conversations this long, then they go back to the queue.
HANDOFF_CLAIM_GRACE_SECONDS = env.int("HANDOFF_CLAIM_GRACE_SECONDS", default=120)
CELERY_BEAT_SCHEDULE["release-lapsed-claims"] = {"task": "handoff.tasks.release_lapsed_claims_task", "schedule": 30}
# Every stored visitor message gets a reply: one still owed this long after it was stored (the process that
# stored it died, or answering failed) is answered by the sweep; a live socket answers within a second.
ANSWER_SWEEP_GRACE_SECONDS = env.int("ANSWER_SWEEP_GRACE_SECONDS", default=15)
ANSWER_SWEEP_BATCH = env.int("ANSWER_SWEEP_BATCH", default=200)  # conversations per sweep
CELERY_BEAT_SCHEDULE["answer-overdue-messages"] = {
    "task": "conversations.tasks.answer_overdue_messages_task",
    "schedule": env.float("ANSWER_SWEEP_EVERY_SECONDS", default=10),
    "options": {"expires": 30},  # sweeps queued behind a long training run are dropped, not run back to back
}

# --- Plans, metering and quotas ---------------------------------------------------------
# Off: nothing is metered and no quota is enforced (a self-hosted install without plans).
BILLING_ENABLED = env.bool("BILLING_ENABLED", default=True)
# After the trial ends the bots keep answering this long, then hand every conversation to people.
BILLING_TRIAL_GRACE_DAYS = env.int("BILLING_TRIAL_GRACE_DAYS", default=3)
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
# A CSAT rating at least this good confirms an automated resolution.
BILLING_GOOD_CSAT = env.int("BILLING_GOOD_CSAT", default=4)
# Conversations untouched for longer than this are no longer examined for resolutions.
BILLING_RESOLUTION_LOOKBACK_DAYS = env.int("BILLING_RESOLUTION_LOOKBACK_DAYS", default=35)
# Every count is written to the database in the transaction of what it counts (never held in Redis).
# Each process adds to its own of this many rows per counter, so processes do not wait on one row's lock.
METERING_COUNTER_SHARDS = env.int("METERING_COUNTER_SHARDS", default=16)
# An event key (Idempotency-Key on an API call) is remembered this long.
METERING_EVENT_KEY_TTL_HOURS = env.int("METERING_EVENT_KEY_TTL_HOURS", default=48)
# After the rate limits: a request they refuse is not an API call.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [*REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"],
                                              "billing.api.quota_throttle.ApiCallQuota"]
CELERY_BEAT_SCHEDULE.update({
    "count-automated-resolutions": {"task": "conversations.tasks.count_automated_resolutions_task", "schedule": 300},
    "advance-subscriptions": {"task": "billing.tasks.advance_subscriptions_task", "schedule": 600},
    "purge-metering-records": {"task": "billing.tasks.purge_metering_records_task", "schedule": 24 * 3600},
})

# --- Tenant webhooks --------------------------------------------------------------------
# Each attempt waits this long for the endpoint (connect, then each read).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Seconds to wait after failed attempt 1, 2, …; one attempt more than entries, then the delivery fails.
WEBHOOK_RETRY_SCHEDULE_SECONDS = [
    int(seconds) for seconds in env.list("WEBHOOK_RETRY_SCHEDULE_SECONDS", default=[60, 300, 1800, 7200, 21600])
]
# Endpoints on loopback, private or link-local addresses are refused unless allowed (local development, tests).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=30)
CELERY_BEAT_SCHEDULE["requeue-due-webhook-deliveries"] = {
    "task": "webhooks.tasks.requeue_due_webhook_deliveries_task",
    "schedule": WEBHOOK_SWEEP_SECONDS,
}
