BEGIN; SET LOCAL app.tenant TO DEFAULT; SET app.tenant = DEFAULT; SET LOCAL app.tenant = 'x'; COMMIT
