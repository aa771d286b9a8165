SELECT id FROM payments WHERE amount = -5 OR amount = 42::bigint OR amount IN (int8 '7', CAST('9' AS int8))
