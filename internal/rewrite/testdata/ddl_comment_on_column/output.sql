COMMENT ON COLUMN users.email IS 'the address we write to'
