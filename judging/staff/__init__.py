"""The staff console's services: contest setup, Excel/CSV import, assignment, conflicts, QR sheets, grading,
finalization, exports and monitoring. Route handlers live in :mod:`judging.staff.web` and are mounted on the
staff router (``judging/routes/staff.py``), whose guard admits staff and the owner only."""
