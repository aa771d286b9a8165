INSERT INTO users (email, ssn, name) VALUES (CAST('a@x' AS varchar), varchar 'b', 'plain'::varchar) RETURNING email
