"""Text for people, shared by the command line and the app."""

from __future__ import annotations

import math


def format_duration(seconds: float, unknown: str = "…") -> str:
    """2:31, or 1:02:03 past an hour; ``unknown`` for a time not known (yet): NaN, infinite or negative."""
    if not math.isfinite(seconds) or seconds < 0:
        return unknown
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
