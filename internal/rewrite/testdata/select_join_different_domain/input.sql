SELECT u.id FROM users u JOIN payments p ON p.card = u.email
