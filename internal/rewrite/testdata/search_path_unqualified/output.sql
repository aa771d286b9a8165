INSERT INTO profiles (id, bio) VALUES (1, $ENC(billing.profiles.bio))
