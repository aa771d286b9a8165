PREPARE p (text) AS SELECT set_config('app.tenant', $1, false)
