CREATE TABLE notes (body text DEFAULT 'x', CHECK (body <> 'y'))
