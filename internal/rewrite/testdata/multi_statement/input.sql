SET app.tenant = 'acme'; SELECT email FROM users WHERE email = 'peggy@example.com'; SELECT 1
