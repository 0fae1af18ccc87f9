"""Helpers that tests share: data builders, database plumbing, the `segflow` command, a headless browser.

Tests import them by module (`from support.data import make_rfm_lines`); pyproject.toml puts tests/ on
sys.path (`pythonpath`), so no test module ever imports another test module or conftest.
"""
