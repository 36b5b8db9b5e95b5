"""Settings for the Altcraft Profile Console, read from the environment.

Every variable is listed with a comment in `.env.example`. Defaults are the safe ones:
DEBUG is off, cookies are secure once HTTPS is on, and the only connection that always
exists is the built-in sandbox.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The real environment wins over .env, so CI and tests can override any value.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only reachable with DEBUG on

# The key of the audit trail's chain (profiles_ui/audit.py). Kept out of the database, so that
# whoever can write there cannot forge the chain. Changing it makes every earlier entry fail
# verification: set it once, and keep it with the other secrets.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="") or f"audit-chain:{SECRET_KEY}"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "django_rq",
    "profiles_ui",
    "altcraft_sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks, so it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "altcraft_admin.urls"
WSGI_APPLICATION = "altcraft_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "profiles_ui.context_processors.console",
            ],
        },
    },
]

# Databases: SQLite by default (make run), PostgreSQL in production and in the main test run.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write at the same time: WAL lets readers go on,
    # IMMEDIATE transactions queue writers instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # A file, not Django's in-memory default, so tests can run a real worker process (and
    # worker threads) against the test database, with the same locking as production.
    DATABASES["default"].setdefault("TEST", {"NAME": f"{DATABASES['default']['NAME']}.test"})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds Altcraft's reference data (databases, fields, resources, scenarios) for every
# process of the console: web workers and task workers see the same entries and the same
# "reload". A folder by default; Redis (redis://...) in production.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{BASE_DIR / 'cache'}")}

# Background tasks: the database backend needs nothing else; RQ scales out on Redis.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy the client address is the proxy's; count the proxies we trust so the
# address taken from X-Forwarded-For is the one the last trusted proxy saw.
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

# Security headers. HTTPS=true turns on everything that only makes sense behind TLS.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# Altcraft connections. The sandbox always exists and is the default; ALTCRAFT_CONNECTIONS adds
# real ones. A connection names the environment variable holding its token: tokens are read at
# send time and never stored in the database, logs, templates or exports.
SANDBOX_TOKEN_ENV = "SANDBOX_TOKEN"  # noqa: S105 - the name of a variable, not a token
# The sandbox is part of this project, so its demo token may have a default; real tokens may not.
os.environ.setdefault(SANDBOX_TOKEN_ENV, "sandbox-demo-token")
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default=f"http://127.0.0.1:{PORT}/sandbox/api/")
# Fault injection in the sandbox API (latency, HTTP errors, dropped connections...), for tests
# and reliability runs only: nothing is injected unless SANDBOX_FAULTS_ENABLED is on. Syntax in
# altcraft_sandbox/faults.py; SANDBOX_FAULTS applies to every request, the Sandbox-Fault header
# to one.
SANDBOX_FAULTS_ENABLED = env.bool("SANDBOX_FAULTS_ENABLED", default=False)
SANDBOX_FAULTS = env.str("SANDBOX_FAULTS", default="")
ALTCRAFT_CONNECTIONS = env.json("ALTCRAFT_CONNECTIONS", default=[])
# Region phones written without a country code are read against (8 900 123-45-67 in RU), for
# connections whose entry names no phone_region of its own.
PHONE_REGION = env.str("PHONE_REGION", default="RU")
ALTCRAFT_CONNECT_TIMEOUT = env.float("ALTCRAFT_CONNECT_TIMEOUT", default=5.0)
ALTCRAFT_READ_TIMEOUT = env.float("ALTCRAFT_READ_TIMEOUT", default=60.0)
ALTCRAFT_RETRIES = env.int("ALTCRAFT_RETRIES", default=2)
ALTCRAFT_RETRY_BACKOFF = env.float("ALTCRAFT_RETRY_BACKOFF", default=0.5)

# Bulk imports: uploaded lists are kept under MEDIA_ROOT (never served directly) so the worker
# can re-read them as a stream; chunks of one batch go out over BULK_STREAMS parallel requests.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
BULK_STREAMS = env.int("BULK_STREAMS", default=4)
BULK_MAX_ROWS = env.int("BULK_MAX_ROWS", default=1_000_000)
# A check of this many rows or more maps and validates them in BULK_CHECK_PROCESSES worker
# processes; a smaller one is over before they would have started.
BULK_CHECK_PROCESSES = env.int("BULK_CHECK_PROCESSES", default=os.cpu_count() or 1)
BULK_CHECK_PARALLEL_FROM = env.int("BULK_CHECK_PARALLEL_FROM", default=20_000)
# A running batch whose worker has not reported for this long is taken as abandoned.
BULK_STALE_SECONDS = env.int("BULK_STALE_SECONDS", default=120)

# Demo users created by `make run`; the password comes from .env (generated on first run).
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "forbidden_without_traceback": {
            "()": "django.utils.log.CallbackFilter",
            "callback": "ext://altcraft_admin.logs.forbidden_without_traceback",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 logs full URLs at DEBUG; keep it quiet so nothing sensitive leaks by accident.
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_without_traceback"]},
    },
}
