SELECT o.*, u.* FROM orders o JOIN users u ON u.id = o.user_id
