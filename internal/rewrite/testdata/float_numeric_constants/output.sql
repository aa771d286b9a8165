INSERT INTO readings (id, v8, v4) VALUES (1, $ENC(readings.v8), $ENC(readings.v4)), (2, $ENC(readings.v8), $ENC(readings.v4)), (3, $ENC(readings.v8), $ENC(readings.v4)) RETURNING id
