package main

// usageError is a mistake in the command line: exit status 2 instead of 1.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
