"""Operating docpipe: the data-flow graph, cost estimate, status and dead letters."""
