CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC INSERT INTO invites (email) VALUES ('atomic@example.com'); END
