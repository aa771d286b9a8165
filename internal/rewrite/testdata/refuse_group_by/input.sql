SELECT email, count(*) FROM users GROUP BY email
