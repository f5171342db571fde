"""The schema layer: the `v` validator builder and `define_schema`/`define_table`."""

from syncline.schema.definitions import (
    DatabaseSchema,
    IndexDefinition,
    SearchIndexDefinition,
    TableDefinition,
    VectorIndexDefinition,
    define_schema,
    define_table,
    schema_from_json,
)
from syncline.schema.validators import (
    Validator,
    pagination_opts_validator,
    pagination_result_validator,
    v,
    validator_from_json,
)

__all__ = [
    "DatabaseSchema",
    "IndexDefinition",
    "SearchIndexDefinition",
    "TableDefinition",
    "Validator",
    "VectorIndexDefinition",
    "define_schema",
    "define_table",
    "pagination_opts_validator",
    "pagination_result_validator",
    "schema_from_json",
    "v",
    "validator_from_json",
]
