SELECT id, total FROM orders WHERE note = 'secret-ish' ORDER BY total
