COPY users FROM STDIN (FORMAT binary)
