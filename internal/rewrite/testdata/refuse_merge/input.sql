MERGE INTO users u USING orders o ON u.id = o.user_id WHEN MATCHED THEN UPDATE SET email = 'victor@example.com'
