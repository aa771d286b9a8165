INSERT INTO users (id, email, name, ssn) VALUES (1, 'judy@example.com', 'Judy', '078-05-1120')
