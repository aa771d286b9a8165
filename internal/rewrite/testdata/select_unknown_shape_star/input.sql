SELECT * FROM billing.profiles
