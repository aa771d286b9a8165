SELECT id INTO TEMP t2 FROM users WHERE email = 'into@example.com'
