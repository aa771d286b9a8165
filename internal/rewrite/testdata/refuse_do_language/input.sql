DO LANGUAGE plperl $$ spi_exec_query('select 1') $$
