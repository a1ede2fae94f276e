"""Orchestration, the top layer: the ``axk1`` CLI, job files, stage names, the curation runner, the
pretraining kickoff and the statistics report. It may import every package below it."""
