"""The embedded demo sample: deterministic WARC shards of generated multilingual web pages
(``sample.demo``) from the project's own text templates (``sample.text``), with ground-truth sidecars."""
