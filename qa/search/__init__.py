"""Search: the retriever over an index (dense and BM25 fused), and the same calls answered by a
running `qa serve`; `Searcher` is what both offer."""

from .searcher import Searcher

__all__ = ["Searcher"]
