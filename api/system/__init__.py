"""The system view: one health page for operators, with the SLA availability figure."""
