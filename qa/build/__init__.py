"""Building the index: reading, analysing and embedding what changed, and publishing it (the
builder), where embedding runs (executors), the build-time NLP (analysis), and keeping the
index current as files change (watch)."""
