"""webly from Python: a finished model's test images or a collection, searched by words or
by vector; the embeddings as numpy arrays; the ranking metrics with webly's tie rules."""

from os import PathLike
from typing import Optional, Sequence, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str

class WeblyError(Exception):
    """Everything that goes wrong in webly: the message is the command line's, naming the file."""

class Hit(TypedDict):
    key: str
    score: float
    caption: Optional[str]
    path: Optional[str]

class RankMetrics(TypedDict):
    relevant: int
    ap: float
    p_at_5: float
    p_at_10: float
    r_precision: float

class Searcher:
    """A model's test images or a collection, opened for queries (holds the folder's read lock)."""

    @property
    def dim(self) -> int:
        """Dimension of the embeddings (the word space's)."""
    @property
    def kind(self) -> str:
        """"run" or "collection"."""
    @property
    def path(self) -> str:
        """The model folder (a run) or the collection folder, absolute."""
    @property
    def keys(self) -> list[str]:
        """The keys of the indexed images, by row."""
    @property
    def ef_search(self) -> int:
        """The HNSW search's default beam width (the index's; search's ef=None)."""
    def __len__(self) -> int: ...
    def embed_words(self, text: str) -> npt.NDArray[np.float32]:
        """The query vector of `text`, shape (dim,); WeblyError when no word is known."""
    def search(
        self,
        query: Union[str, npt.ArrayLike],
        k: int = 10,
        exact: bool = False,
        ef: Optional[int] = None,
    ) -> list[Hit]:
        """The k nearest images to words or a vector, best first (exact: every image compared;
        ef: the HNSW beam, None for the index's ef_search, below k counts as k)."""
    def embeddings(self) -> tuple[npt.NDArray[np.float32], list[str]]:
        """The stored embeddings (n, dim) and their keys in row order."""

def open_run(
    model_dir: Union[str, PathLike[str]],
    dataset: Union[str, PathLike[str], None] = None,
) -> Searcher:
    """A run's model folder (runs/NAME/models/MODEL); dataset: its InstaCities-layout root."""

def open_collection(path: Union[str, PathLike[str]]) -> Searcher:
    """A collection folder (webly collection create)."""

def rank_metrics(
    relevant: Sequence[bool],
    scores: Optional[Sequence[float]] = None,
    n_relevant: Optional[int] = None,
) -> Optional[RankMetrics]:
    """AP, P@5, P@10 and R-precision of one ranking; None when nothing is relevant."""

def average_precision(
    relevant: Sequence[bool],
    scores: Optional[Sequence[float]] = None,
    n_relevant: Optional[int] = None,
) -> Optional[float]:
    """Average precision (scikit-learn's, a tie one threshold); None when nothing is relevant."""

def r_precision(
    relevant: Sequence[bool],
    scores: Optional[Sequence[float]] = None,
    n_relevant: Optional[int] = None,
) -> Optional[float]:
    """Precision at rank R (expected over tie orderings); None when nothing is relevant."""

def precision_at_k(
    relevant: Sequence[bool],
    k: int,
    scores: Optional[Sequence[float]] = None,
) -> float:
    """Share of relevant images among the first k (expected over tie orderings)."""

def mean_average_precision(
    images: npt.NDArray[np.float32],
    queries: npt.NDArray[np.float32],
    relevant: Sequence[Sequence[int]],
) -> Optional[float]:
    """mAP of cosine rankings of images (n, dim) for queries (m, dim); relevant[j]: rows."""
