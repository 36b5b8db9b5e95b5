"""gunicorn's settings for the console: `gunicorn altcraft_admin.wsgi` reads this file.

The same file serves `make run`, the benchmarks, the tests that need a server in a process of
its own, and production. Everything here can be overridden by the environment.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, not only processes: a page that calls Altcraft waits on the network, and in the
# built-in setup the sandbox it calls is served by these same workers.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request may wait on Altcraft for ALTCRAFT_READ_TIMEOUT (60 s) and its retries.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "180"))
graceful_timeout = 30
# Behind a reverse proxy keep-alive connections are reused; a few seconds is plenty.
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # "" turns it off
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# No request line in the access log: query strings may hold customers' emails and phones.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# gunicorn's control socket is one path per user: servers side by side on one machine (tests,
# benchmarks) would take it from each other, and nothing here uses it.
control_socket_disable = True
