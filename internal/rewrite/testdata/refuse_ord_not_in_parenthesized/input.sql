SELECT id FROM events WHERE (happened) NOT IN ($1, $2)
