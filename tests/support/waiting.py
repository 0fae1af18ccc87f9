"""Waiting for something another process does: poll a check until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T], timeout: float, every: float = 0.5) -> T:
    """check()'s first truthy result within `timeout` seconds (checked every `every` s), else its last result."""
    deadline = time.monotonic() + timeout
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(every)
        result = check()
    return result
