COPY users (id, email) FROM STDIN (FORMAT csv, FORCE_NULL (email))
