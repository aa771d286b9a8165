INSERT INTO invites (email, invited_by) SELECT $ENC(invites.email), id FROM users WHERE substring(email from 24 for 16) = $1
