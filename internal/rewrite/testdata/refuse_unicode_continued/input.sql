SELECT id FROM users WHERE email = U&'ola@example'
'.com'
