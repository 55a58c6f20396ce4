"""The project cycle (issue 23): methodologies, accreditations, plans, monitoring reports,
verifications and issuance requests (docs/project-cycle.md)."""
