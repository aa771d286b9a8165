SELECT bio, id FROM billing.profiles WHERE id = $1
