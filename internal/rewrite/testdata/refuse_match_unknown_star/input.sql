SELECT * FROM events e, billing.profiles p WHERE e.body LIKE 'x%'
