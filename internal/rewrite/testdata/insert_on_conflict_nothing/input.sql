INSERT INTO invites AS i (email) VALUES ('leo@example.com') ON CONFLICT ("email") DO NOTHING
