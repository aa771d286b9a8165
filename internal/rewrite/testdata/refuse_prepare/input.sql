PREPARE q AS SELECT email FROM users WHERE id = $1
