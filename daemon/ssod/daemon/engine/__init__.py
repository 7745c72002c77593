"""The engine: sessions kept fresh, role credentials cached with single flight, logins, the
refresh schedule and the status snapshot. No transport and no aiobotocore import: AWS is reached
through the ``AwsApi`` seam (``ssod.daemon.aws.api``), time through the ``Clock`` seam.
"""
