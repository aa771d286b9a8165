UPDATE events SET id = 1 WHERE body LIKE 'a%'
