CREATE VIEW v AS SELECT id FROM users WHERE email = 'view@example.com'
