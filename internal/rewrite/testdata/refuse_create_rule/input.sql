CREATE RULE r AS ON INSERT TO orders DO ALSO INSERT INTO users (email) VALUES ('rule@example.com')
