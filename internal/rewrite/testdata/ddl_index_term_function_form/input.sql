CREATE UNIQUE INDEX invites_email_term ON invites (substring(email, 24, 16))
