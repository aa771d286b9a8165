SELECT id FROM events e, payments p WHERE e.score < p.amount
