UPDATE invites i SET invited_by = u.id FROM users u WHERE substring(u.email from 24 for 16) = substring(i.email from 24 for 16) AND substring(u.email from 24 for 16) = $1
