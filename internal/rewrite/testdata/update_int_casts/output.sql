UPDATE meters SET s4 = $1, s2 = $ENC(meters.s2) WHERE substring(s8 from 24 for 16) = $TERM(meters.s8) AND substring(s4 from 24 for 16) = $TERM(meters.s4)
