CREATE STATISTICS users_stats ON email, name FROM users
