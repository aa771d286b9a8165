SELECT id FROM readings WHERE substring(v4 from 24 for 16) <> $TERM(readings.v4)
