SELECT id, row_number() OVER (ORDER BY score), rank() OVER w FROM events WINDOW w AS (PARTITION BY id ORDER BY happened DESC)
