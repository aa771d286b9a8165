SELECT u.email AS mail, u.name, ssn s FROM users AS u
