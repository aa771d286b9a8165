SELECT id, title FROM events WHERE body LIKE '%needle%' AND id > 3
