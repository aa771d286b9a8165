SELECT s.m FROM (SELECT max(score) AS m FROM events) s WHERE s.m = 7
