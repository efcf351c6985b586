"""The articles: reading a corpus folder (one reader per format), chunking into sentences with
exact offsets, the NLP pipeline's phrases, and who said what (quotes)."""
