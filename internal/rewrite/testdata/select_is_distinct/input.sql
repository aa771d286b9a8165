SELECT id FROM users WHERE email IS DISTINCT FROM $1 OR email IS NOT DISTINCT FROM 'frank@example.com'
