CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('x.y', 'z', false); END $$
