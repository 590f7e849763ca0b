"""The query API's Lambda: runs the named, parameterized KPI queries (:mod:`queries.kpi`) through Athena for
API Gateway HTTP API requests (payload 2.0). Handler: :func:`lambda_src.query_api.app.handler`."""
