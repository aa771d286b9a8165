INSERT INTO users (email) VALUES ('abcdef'::varchar(4)::varchar(3))
