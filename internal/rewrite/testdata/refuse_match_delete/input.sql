DELETE FROM events WHERE body LIKE 'a%'
