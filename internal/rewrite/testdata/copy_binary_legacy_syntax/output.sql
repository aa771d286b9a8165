COPY users (id, email) TO STDOUT WITH BINARY
