SELECT s4 FROM meters WHERE substring(s4 from 24 for 16) = $TERM(meters.s4) OR substring(s8 from 24 for 16) IN ($TERM(meters.s8), $TERM(meters.s8)) OR substring(s2 from 24 for 16) <> $TERM(meters.s2)
