COPY users TO STDOUT (FORMAT csv, FORCE_QUOTE (id, email))
