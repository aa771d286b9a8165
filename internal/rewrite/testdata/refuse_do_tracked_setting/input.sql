DO 'BEGIN PERFORM 1; SET app.tenant = ''other''; END'
