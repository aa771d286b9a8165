SELECT p.bio FROM billing.profiles p WHERE p.id = 1
