"""Prefect flows: wiring only. Each task calls one segflow function; the logic lives in segflow/."""
