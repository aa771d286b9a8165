SELECT id FROM meters WHERE substring(s4 from 24 for 16) = $1
