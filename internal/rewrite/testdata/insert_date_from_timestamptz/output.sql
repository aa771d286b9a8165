INSERT INTO meters (born_on) VALUES ($ENC(meters.born_on)), ($1)
