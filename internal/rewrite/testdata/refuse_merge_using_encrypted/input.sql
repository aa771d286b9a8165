MERGE INTO orders o USING users u ON u.email = 'merge@example.com' WHEN MATCHED THEN DELETE
