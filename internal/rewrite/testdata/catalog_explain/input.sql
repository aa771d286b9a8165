EXPLAIN SELECT attname FROM pg_catalog.pg_attribute
