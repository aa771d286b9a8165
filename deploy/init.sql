-- A table with one pgseal-encrypted column: bytea in the database, text to the application,
-- UNIQUE through the equality term at its fixed offset in the envelope.
CREATE TABLE customers (
  id serial PRIMARY KEY,
  tenant text NOT NULL DEFAULT 'default',
  email bytea NOT NULL,
  name text
);
CREATE UNIQUE INDEX customers_email_eq ON customers ((substring(email from 24 for 16)));
