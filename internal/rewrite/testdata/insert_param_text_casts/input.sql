INSERT INTO users (email, ssn) VALUES (CAST($1 AS VARCHAR), $2::character varying)
