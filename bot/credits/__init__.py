"""Credits: the points and the line, the ledger sync, what /credits and /ranking show, the exams
and evaluations import, the export, the exit rules and the exit review.
"""
