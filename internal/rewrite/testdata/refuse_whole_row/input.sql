SELECT row_to_json(u) FROM users u
