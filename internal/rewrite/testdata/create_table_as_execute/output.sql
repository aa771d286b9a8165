CREATE TABLE t2 AS EXECUTE s1('y@example.com')
