SELECT column_name FROM columns
