SELECT set_config('app.tenant', 'acme', false), pg_catalog.set_config('pgseal.keyset', $1, true), set_config('app.x', $2, $3)
