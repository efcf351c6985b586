"""Search: the retriever over an index (dense and BM25 fused), and the same calls answered by a
running `qa serve`; `Searcher` is what both offer."""

from .searcher import Searcher, search_mode

__all__ = ["Searcher", "search_mode"]
