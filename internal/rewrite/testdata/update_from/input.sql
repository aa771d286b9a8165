UPDATE invites i SET invited_by = u.id FROM users u WHERE u.email = i.email AND u.email = $1
