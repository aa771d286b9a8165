INSERT INTO payments (paid_at) VALUES ($ENC(payments.paid_at)), ($1), ($ENC(payments.paid_at))
