"""Curation stages. Importing this package registers every stage with ``pipeline.stage``."""

from stages import extract, langid, mix, pii  # noqa: F401
