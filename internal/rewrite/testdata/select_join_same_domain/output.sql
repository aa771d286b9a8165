SELECT u.id, i.id FROM users u JOIN invites i ON substring(i.email from 24 for 16) = substring(u.email from 24 for 16)
