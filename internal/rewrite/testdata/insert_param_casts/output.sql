INSERT INTO payments (user_id, amount, paid_at) VALUES ($1, $2, $3)
