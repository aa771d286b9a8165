SELECT id FROM readings WHERE substring(v4 from 24 for 16) IN ($TERM(readings.v4))
