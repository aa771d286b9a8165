DO $$ BEGIN UPDATE orders SET note = 'done' WHERE id = 1; END $$
