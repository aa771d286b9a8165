ALTER TABLE users ADD CHECK (email <> 'check@example.com')
