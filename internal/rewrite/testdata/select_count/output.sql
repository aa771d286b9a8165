SELECT count(email), count(*) FROM users WHERE email IS NOT NULL
