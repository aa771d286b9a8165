SET app.tenant = 'acme'; SET LOCAL pgseal.keyset TO 'prod'; SET SESSION search_path = a, b
