SELECT sum(amount) FROM payments
