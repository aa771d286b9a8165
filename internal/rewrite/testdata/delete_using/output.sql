DELETE FROM invites i USING users u WHERE substring(i.email from 24 for 16) = substring(u.email from 24 for 16)
