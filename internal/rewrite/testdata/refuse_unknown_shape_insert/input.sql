INSERT INTO billing.profiles VALUES ('ivan bio')
