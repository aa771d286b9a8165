UPDATE users SET (name, email) = ('n', 'multi@example.com')
