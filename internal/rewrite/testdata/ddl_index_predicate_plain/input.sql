CREATE INDEX users_tenant5 ON users (id) WHERE tenant_id = 5
