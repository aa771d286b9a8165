CREATE TABLE audit (id bigint, at timestamptz)
