INSERT INTO profiles (id, bio) VALUES (1, 'ivan bio')
