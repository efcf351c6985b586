"""Search: the retriever over an index (dense and BM25 fused), and the same calls answered by a
running `qa serve`; `Searcher` is what both offer."""

from typing import TYPE_CHECKING

from .searcher import Asker, Searcher, search_mode

if TYPE_CHECKING:  # mypy proves the local and the remote side satisfy the protocols
    from .remote import RemoteAssistant, RemoteRetriever
    from .retriever import Retriever

    def _searchers(local: Retriever, remote: RemoteRetriever) -> tuple[Searcher, Searcher]:
        return local, remote

    def _askers(remote: RemoteAssistant) -> Asker:
        return remote

__all__ = ["Asker", "Searcher", "search_mode"]
