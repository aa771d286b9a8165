SELECT id FROM users WHERE ssn = $1
