SELECT id, body /* c */ -- the id
FROM events WHERE (CASE WHEN get_byte(body, 2) & 4 = 4 THEN string_to_array(encode(substring(body from 28 + get_byte(body, 23)*256 + get_byte(body, 24) for get_byte(body, 25)*256 + get_byte(body, 26)), 'escape'), ' ') END @> ($1::text[])[2:] AND substring(body from 4 for 16) = decode(substring(( $1::text[])[1] from 2), 'hex'))
