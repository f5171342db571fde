"""Full text search (tantivy) and vector search (usearch) over a database's documents."""

from syncline.database.search.indexes import SearchChange, SearchIndexes
from syncline.database.search.text import (
    MAX_CANDIDATES,
    TextSearch,
    document_tokens,
    field_value,
    parse_search,
    search_keys,
)

__all__ = [
    "MAX_CANDIDATES", "SearchChange", "SearchIndexes", "TextSearch", "document_tokens",
    "field_value", "parse_search", "search_keys",
]
