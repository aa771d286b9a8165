CREATE VIEW cols AS SELECT attname FROM pg_attribute
