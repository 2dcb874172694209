"""The tenants resource: the platform administrators' records of who the deployment serves."""
