SELECT id FROM payments WHERE amount < 100
