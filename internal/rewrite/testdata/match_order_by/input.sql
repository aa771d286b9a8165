SELECT id, score FROM events WHERE body ~~ 'x%' AND body !~~ '%y' ORDER BY score
