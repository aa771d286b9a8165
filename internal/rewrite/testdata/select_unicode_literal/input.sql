SELECT id FROM users WHERE email = U&'\0075ma@example.com' OR email = U&'!0075na@example.com' UESCAPE '!' OR U&"email" = $1
