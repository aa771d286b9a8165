EXPLAIN ANALYZE EXECUTE s1('x@example.com')
