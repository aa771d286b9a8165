INSERT INTO payments (amount, paid_at, card) VALUES ($ENC(payments.amount), $ENC(payments.paid_at), $ENC(payments.card))
