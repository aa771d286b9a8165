SELECT email || 'x' FROM users
