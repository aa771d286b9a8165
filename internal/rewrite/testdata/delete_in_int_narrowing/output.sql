DELETE FROM meters WHERE substring(s2 from 24 for 16) IN ($TERM(meters.s2), $TERM(meters.s2))
