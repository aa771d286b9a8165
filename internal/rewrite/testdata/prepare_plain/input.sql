PREPARE totals (int) AS SELECT sum(total) FROM orders WHERE user_id = $1
