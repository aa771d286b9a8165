CREATE FUNCTION add_user(e text) RETURNS void LANGUAGE sql AS $$ INSERT INTO users (email) VALUES (e) $$
