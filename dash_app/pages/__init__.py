"""One module per page: `layout(**query)`, the callbacks as plain functions, `register_callbacks(app)`."""
