DELETE FROM invites i USING users u WHERE i.email = u.email
