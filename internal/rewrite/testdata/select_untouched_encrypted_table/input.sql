SELECT id, name FROM users WHERE tenant_id = 42 ORDER BY name
