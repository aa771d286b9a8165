COPY users (id, email) FROM STDIN WHERE email IS NOT NULL
