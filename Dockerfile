# One image for every Python service (Dash + pipeline API, Voila, JupyterLab, migrations, pipeline runs);
# docker-compose.yml picks the command. No secret is baked in: settings come from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BI_DATA_DIR=/data \
    RUNS_DIR=/app/runs \
    RUNS_QUARANTINE_DIR=/app/quarantine \
    JUPYTER_CONFIG_DIR=/data/jupyter/config \
    JUPYTER_DATA_DIR=/data/jupyter/data \
    JUPYTER_RUNTIME_DIR=/data/jupyter/runtime \
    IPYTHONDIR=/data/ipython \
    MPLCONFIGDIR=/data/mpl

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 tini curl git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 bi

WORKDIR /app
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

COPY pyproject.toml ./
COPY lib ./lib
COPY dash_app ./dash_app
COPY dbt ./dbt
COPY notebooks ./notebooks
# The pipeline's user owns the archive and the quarantine (a secret found in an output is moved there:
# a root-owned folder would turn a leak into a misleading PermissionError).
RUN pip install --no-deps -e . \
    && mkdir -p /app/runs /app/quarantine /data \
    && chmod 700 /app/quarantine \
    && chown -R bi:bi /app/runs /app/quarantine /app/notebooks /data

USER bi
EXPOSE 8050 8866 8888
ENTRYPOINT ["tini", "--"]
CMD ["bi", "serve", "dash", "--host", "0.0.0.0", "--port", "8050"]
