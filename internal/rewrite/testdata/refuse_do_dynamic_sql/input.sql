DO $$ BEGIN EXECUTE 'insert into us' || 'ers (no' || 'te) values (1)'; END $$
