CREATE UNIQUE INDEX users_email_term ON users ((substring(email from 24 for 16)))
