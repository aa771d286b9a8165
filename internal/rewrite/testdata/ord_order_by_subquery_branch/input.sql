SELECT id FROM (SELECT id, happened FROM events ORDER BY happened DESC) s UNION ALL (SELECT id FROM scores ORDER BY score)
