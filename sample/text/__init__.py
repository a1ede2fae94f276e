"""Text resources for the demo sample: vocabularies, sentence templates and page skeletons.

Everything here is written for the project. Documents are assembled from these templates with a
seeded RNG (see ``sample.demo``), so the same seed always yields the same pages.
"""
