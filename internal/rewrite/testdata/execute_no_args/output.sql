EXECUTE report
