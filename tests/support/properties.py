"""Settings of the property tests: derandomized and bounded, so that a run is fast and the same every time.

``PYAPP_PROPERTY_EXAMPLES`` asks for more examples (a deeper search, run by hand). Test modules
``from properties import bounded``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["EXAMPLES", "bounded"]

EXAMPLES = int(os.environ.get("PYAPP_PROPERTY_EXAMPLES", "0"))


def bounded(examples: int) -> settings:
    """Derandomized settings for *examples* examples (more with ``PYAPP_PROPERTY_EXAMPLES``)."""
    return settings(
        max_examples=max(examples, EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
