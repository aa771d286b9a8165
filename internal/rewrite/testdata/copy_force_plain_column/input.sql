COPY users (id, email, name) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (name))
