SELECT id FROM events WHERE body LIKE 'a%' ESCAPE $1
