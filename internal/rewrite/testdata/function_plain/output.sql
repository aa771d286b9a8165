CREATE FUNCTION order_total(o bigint) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT total FROM orders WHERE id = o'
