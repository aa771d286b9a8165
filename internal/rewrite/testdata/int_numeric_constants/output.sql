INSERT INTO meters (s2, s4, s8) VALUES ($ENC(meters.s2), $ENC(meters.s4), $ENC(meters.s8))
