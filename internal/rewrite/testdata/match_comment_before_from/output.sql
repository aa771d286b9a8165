SELECT id, body /* c */ -- the id
FROM events WHERE (CASE WHEN get_byte(body, 2) & 4 = 4 THEN string_to_array(encode(substring(body from 28 + get_byte(body, 23)*256 + get_byte(body, 24) for get_byte(body, 25)*256 + get_byte(body, 26)), 'escape'), ' ') END @> $1::text[])
