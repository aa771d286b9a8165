SELECT email INTO t2 FROM users
