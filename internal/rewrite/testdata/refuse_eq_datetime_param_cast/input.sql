SELECT id FROM meters WHERE born_on IN ($1::timestamptz)
