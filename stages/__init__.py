"""Curation stages. Importing this package registers every stage with ``pipeline.stage``."""

from stages import dedup, extract, langid, mix, pii, quality  # noqa: F401
