SELECT id FROM users WHERE email = 'pam@example'
'.com'
