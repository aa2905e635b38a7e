"""Production dashboards (Dash Pages) and the pipeline HTTP API, served by one Flask app."""
