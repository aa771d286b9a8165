SELECT 'x' AS k, attname FROM pg_attribute WHERE attnum > 0 AND attrelid = 12345
