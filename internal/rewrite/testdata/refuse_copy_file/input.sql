COPY users TO '/tmp/users.csv'
