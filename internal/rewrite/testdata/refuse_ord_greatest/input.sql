SELECT greatest(score, 5) FROM events
