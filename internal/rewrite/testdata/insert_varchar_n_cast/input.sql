INSERT INTO users (email) VALUES ('abcdef'::varchar(3))
