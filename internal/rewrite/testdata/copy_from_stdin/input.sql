COPY users (id, email, name) FROM STDIN WITH (FORMAT csv, HEADER true)
