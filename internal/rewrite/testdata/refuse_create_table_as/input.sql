CREATE TABLE copy_of_users AS SELECT * FROM users
