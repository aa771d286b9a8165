SELECT set_config(name, 'x', false) FROM orders
