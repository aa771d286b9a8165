INSERT INTO meters (s2, s4, s8) VALUES ($ENC(meters.s2), $ENC(meters.s4), $ENC(meters.s8)); SELECT s4 FROM meters WHERE substring(s4 from 24 for 16) = $TERM(meters.s4)
