# The clinic backend image: web (gunicorn), worker and beat all run it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin clinic

COPY requirements.txt ./
RUN pip install -r requirements.txt

# Only the code: the top level is fixed by the design (no .venv, var/ or .git in the image).
COPY manage.py ./
COPY clinic ./clinic
COPY patients ./patients
COPY programs ./programs
COPY assessments ./assessments

RUN mkdir -p "$VAR_DIR" && chown clinic:clinic "$VAR_DIR"
USER clinic

# Static files are collected into the image; the key is a throw-away needed only to import the settings.
RUN SECRET_KEY=collectstatic-build-only DJANGO_ENV=development python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "-c", "python:clinic.gunicorn_conf", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
