"""EMR steps of the platform: scripts run with spark-submit, and the step list (as data) in :mod:`emr_steps.steps`."""
