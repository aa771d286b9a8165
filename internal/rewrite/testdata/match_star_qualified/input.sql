SELECT e.* FROM events e WHERE e.tag ILIKE '%x%'
