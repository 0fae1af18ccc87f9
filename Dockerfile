# segflow's image for docker-compose.yml: the Prefect server, the worker that runs the flows, and the one-shot
# migrate / deploy / bi-user steps all run from it, so every Prefect process has the same prefect version
# (and the pins in pyproject.toml that prefect 3.8 needs: fastapi for its server, SQLAlchemy <2.1 for its scheduler).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user; its home holds Prefect's profile and the server's copy of the UI files.
RUN useradd --create-home --uid 10001 segflow \
    && mkdir -p /var/lib/segflow \
    && chown segflow:segflow /var/lib/segflow

# The checkout stays the working directory: deployments/prefect.yaml has no pull steps, so `prefect deploy`
# records this folder and the worker loads flows/nightly.py:nightly_segmentation from it.
WORKDIR /opt/segflow
COPY . .
# Its services run the nightly (base install), Dask's scheduler and workers, and the MLflow mirror; none serves
# `segflow ui` or `segflow api`, so the [ui] and [api] extras stay out of the image.
RUN pip install ".[dask,mlflow]" \
    && rm -rf build segflow.egg-info

USER segflow
# Models and reports. docker-compose.yml mounts a named volume here on the worker only (a fresh volume takes
# the folder's segflow owner); no VOLUME line, so the other services leave no anonymous volumes behind.
ENV SEGFLOW_HOME=/var/lib/segflow

CMD ["segflow", "--help"]
