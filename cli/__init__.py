"""The `docpipe` command-line tool."""
