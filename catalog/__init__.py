"""Product catalog: uploads, HTML cleaning, the vector index and search (catalog issue)."""
