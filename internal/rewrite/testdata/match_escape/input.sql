SELECT id FROM events WHERE body LIKE 'a!%b%' ESCAPE '!' AND title LIKE 'x%' ESCAPE ''
