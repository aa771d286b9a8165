EXECUTE s1('plain-or-not@example.com', 42)
