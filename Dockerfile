# syntax=docker/dockerfile:1
# The production image: gunicorn serving config.wsgi (production settings), static files by WhiteNoise.
# The same image runs migrations and the worker and scheduler, Celery's or Dramatiq's (see docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    WEB_CONCURRENCY=3

WORKDIR /app

RUN groupadd --system holdfast \
    && useradd --system --gid holdfast --home-dir /app --no-create-home --shell /usr/sbin/nologin holdfast

# Requirements first, so a code change does not reinstall them.
COPY requirements/ requirements/
RUN pip install -r requirements/production.txt

COPY . .

# Production settings refuse to load without these; the dummy values exist only for this one step and
# are not in the image's environment. Nothing here connects to the database.
RUN SECRET_KEY=collectstatic-only-not-a-secret \
    DATABASE_URL=postgres://collectstatic@localhost/none \
    ALLOWED_HOSTS=localhost \
    CELERY_BROKER_URL=amqp://collectstatic@localhost// \
    sh -c "python manage.py collectstatic --noinput && python manage.py compile_catalogues"

USER holdfast
EXPOSE 8000

# /healthz answers 200 when the database does. The Host header must be an allowed host, and /healthz is
# exempt from the https redirect, so plain http inside the container works.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = os.environ['ALLOWED_HOSTS'].split(',')[0].strip().lstrip('.'); host = 'localhost' if host in ('', '*') else host; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

# WEB_CONCURRENCY sets the number of workers; gunicorn reads it from the environment. Heartbeat files in
# memory (/dev/shm), and no control socket: nothing in the container manages gunicorn at run time.
# The access log names the path without its query string and leaves out the referrer: both can carry
# what a guest typed or a link's token, and the log is no place for them.
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s %(H)s\" %(s)s %(b)s %(L)ss \"%(a)s\"", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]
