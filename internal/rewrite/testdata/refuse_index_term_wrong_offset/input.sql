CREATE INDEX users_email_x ON users ((substring(email from 23 for 16)))
