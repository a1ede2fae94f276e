"""``extract``: WARC/WET/ARC records to text (charset decoding, trafilatura or resiliparse)."""

from stages.extract.stage import Extract, ExtractConfig

__all__ = ["Extract", "ExtractConfig"]
