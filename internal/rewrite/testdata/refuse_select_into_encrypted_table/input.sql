SELECT 'into@example.com' AS email INTO users
