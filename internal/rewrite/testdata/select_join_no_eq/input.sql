SELECT u.id FROM users u JOIN users v ON u.ssn = v.ssn
