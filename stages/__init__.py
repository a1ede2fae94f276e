"""Curation stages. Importing this package registers every stage with ``pipeline.stage``."""

from stages import (
    extract,  # noqa: F401
    mix,  # noqa: F401
)
